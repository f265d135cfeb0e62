import type { TestContext } from "node:test";
import { MessageChannel, type MessagePort } from "node:worker_threads";
import { EmbeddedBroker } from "../../src/broker/embedded/embedded-broker.js";
import type { EmbeddedHub } from "../../src/broker/embedded/hub.js";
import { portTransport } from "../../src/ipc/transport.js";

/**
 * A worker's EmbeddedBroker talking to `hub` over a MessageChannel, as it does to the primary over
 * IPC; closed after the test. `hubPort` is the hub's end, for watching what the broker sends.
 */
export function brokerOnHub(t: TestContext, hub: EmbeddedHub): { broker: EmbeddedBroker; hubPort: MessagePort } {
  const { port1, port2 } = new MessageChannel();
  hub.attach(portTransport(port1));
  const broker = new EmbeddedBroker(portTransport(port2), 30_000);
  t.after(async () => {
    await broker.close();
    port1.close();
    port2.close();
  });
  return { broker, hubPort: port1 };
}
