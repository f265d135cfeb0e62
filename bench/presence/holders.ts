/**
 * A child process holding the presence members of the bench: N sockets subscribed to one
 * presence channel, counting the member events they receive. IPC: sends `{ ready }` once all are
 * subscribed; on `{ report }` answers `{ events }` (the total so far).
 */
import { SignJWT } from "jose";
import { io, type Socket } from "socket.io-client";
import { DEV_JWT_SECRET } from "../../src/config/schema.js";

const [url, channel, countText] = process.argv.slice(2) as [string, string, string];
const count = Number(countText);
const key = new TextEncoder().encode(DEV_JWT_SECRET);
let events = 0;
const sockets: Socket[] = [];

async function hold(i: number): Promise<void> {
  const token = await new SignJWT({ channel, user: { id: `holder-${i}`, info: { name: `Holder ${i}` } } }).setProtectedHeader({ alg: "HS256" }).sign(key);
  const socket = io(url, { transports: ["websocket"], forceNew: true });
  sockets.push(socket);
  socket.on("member_added", () => events++);
  socket.on("member_removed", () => events++);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  const ack = (await socket.timeout(30_000).emitWithAck("subscribe", { channel, token })) as { ok: boolean };
  if (!ack.ok) throw new Error(`holder ${i} refused: ${JSON.stringify(ack)}`);
}

for (let i = 0; i < count; i += 50) await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => hold(i + j)));
process.send?.({ ready: true });
process.on("message", (m: { report?: boolean }) => {
  if (m.report) process.send?.({ events });
});
process.on("disconnect", () => {
  for (const s of sockets) s.disconnect();
  process.exit(0);
});
