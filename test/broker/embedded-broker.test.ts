import { MessageChannel } from "node:worker_threads";
import { ChannelLog } from "../../src/broker/embedded/channel-log.js";
import { EmbeddedBroker } from "../../src/broker/embedded/embedded-broker.js";
import { EmbeddedHub } from "../../src/broker/embedded/hub.js";
import { portTransport } from "../../src/ipc/transport.js";
import { brokerSuite } from "./broker-suite.js";

const historySize = 10;

// The hub and the brokers talk over MessagePorts: ordered, structured-clone messages like cluster IPC.
brokerSuite("embedded", { historySize }, async () => {
  const hub = new EmbeddedHub(new ChannelLog({ historySize, historyTtlMs: 60_000, metaTtlMs: 60_000, dedupWindowMs: 60_000, maxChannels: 1000 }), (err) => {
    throw err;
  });
  const channels = [new MessageChannel(), new MessageChannel()];
  const brokers = channels.map(({ port1, port2 }) => {
    hub.attach(portTransport(port1));
    return new EmbeddedBroker(portTransport(port2), 2000);
  });
  return {
    brokers,
    async close() {
      await Promise.all(brokers.map((b) => b.close()));
      for (const { port1, port2 } of channels) {
        port1.close();
        port2.close();
      }
    },
  };
});
