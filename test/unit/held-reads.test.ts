import assert from "node:assert/strict";
import { once } from "node:events";
import net, { type AddressInfo } from "node:net";
import test, { type TestContext } from "node:test";
import { handleOf, holdReads } from "../../src/primary/held-reads.js";

/** A loopback server and `count` connections to it, each with its server side. */
async function pairs(t: TestContext, count: number): Promise<Array<{ client: net.Socket; server: net.Socket }>> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => server.close());
  const accepted: net.Socket[] = [];
  const all = new Promise<void>((resolve) => server.on("connection", (s) => accepted.push(s) === count && resolve()));
  const clients: net.Socket[] = [];
  for (let i = 0; i < count; i++) {
    const client = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
    await once(client, "connect");
    clients.push(client);
  }
  await all;
  t.after(() => [...clients, ...accepted].forEach((s) => s.destroy()));
  // Accepted in connect order on loopback, one at a time.
  return clients.map((client, i) => ({ client, server: accepted[i]! }));
}

test("a socket whose reads are held reads nothing more, also after the ticks that restart a stopped read", async (t) => {
  const [one, two] = await pairs(t, 2);
  const [heldClient, held, controlClient, control] = [one!.client, one!.server, two!.client, two!.server];
  const late: Buffer[] = [];
  // Held inside the data event, as the router does: the stream schedules its next read after it.
  const head = await new Promise<Buffer>((resolve) => {
    held.once("data", (chunk: Buffer) => {
      holdReads(held);
      held.on("data", (more: Buffer) => late.push(more));
      resolve(chunk);
    });
    heldClient.write("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n");
  });
  // readStop alone was undone here: Readable's maybeReadMore (next tick) started the handle reading again.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(handleOf(held)?.reading, false, "still not reading a tick later");

  // The body a polling client sends while its handoff waits; a socket read normally gets its bytes
  // in the same turn of the event loop, so once the control has them the held one would have too.
  const controlGot = once(control, "data");
  heldClient.write("host: x\r\ncontent-length: 2\r\n\r\n40");
  controlClient.write("x");
  await controlGot;
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(late, [], "nothing read after the hold");
  assert.equal(held.bytesRead, head.length);
});
