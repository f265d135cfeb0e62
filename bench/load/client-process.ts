/**
 * One load-generator child: opens its share of websocket socket.io clients, subscribes each to
 * its channel, and counts the messages of the run being measured with their end-to-end latency.
 * Driven entirely by the coordinator over IPC.
 */
import { io, type Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "../../src/protocol/events.js";
import type { Message } from "../../src/protocol/messages.js";
import { LatencyHistogram } from "./histogram.js";
import { wallClockMs, type BenchPayload, type ClientEvent, type ClientPlan, type CoordinatorCommand } from "./protocol.js";

type BenchSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const sockets: BenchSocket[] = [];
let measuredRun = "";
let received = 0;
let outOfOrder = 0;
let disconnects = 0;
let histogram = new LatencyHistogram();
/** From the server's own `ts` (its accept or emit time) to arrival: the server-side share of the latency. */
let sinceServerTs = new LatencyHistogram();

function send(event: ClientEvent): void {
  process.send?.(event);
}

function onMessage(msg: Message, lastOffset: { value: number | undefined }): void {
  if (typeof msg.offset === "number") {
    if (lastOffset.value !== undefined && msg.offset !== lastOffset.value + 1) outOfOrder += 1;
    lastOffset.value = msg.offset;
  }
  const data = msg.data as BenchPayload | undefined;
  if (data?.run !== measuredRun) return;
  received += 1;
  const now = wallClockMs();
  histogram.record(Math.max(0, now - data.sentAt));
  sinceServerTs.record(Math.max(0, now - msg.ts));
}

/** Connects one client and subscribes it; rejects with the reason it could not. */
async function openOne(plan: ClientPlan, channel: string): Promise<void> {
  const socket: BenchSocket = io(plan.url, {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    timeout: plan.connectTimeoutMs,
  });
  // socket.io-client bounds only the engine handshake: a namespace CONNECT that is never
  // answered would wait forever, so bound the whole connect here.
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no connect within ${plan.connectTimeoutMs} ms (engine ${socket.io.engine?.readyState ?? "none"})`)), plan.connectTimeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once("connect_error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } catch (err) {
    socket.disconnect();
    throw err;
  }
  const lastOffset: { value: number | undefined } = { value: undefined };
  socket.on("message", (msg) => onMessage(msg, lastOffset));
  try {
    const ack = await socket.timeout(plan.connectTimeoutMs).emitWithAck("subscribe", { channel });
    if (!ack.ok) throw new Error(`subscribe refused: ${ack.error.code}`);
  } catch (err) {
    socket.disconnect();
    throw err;
  }
  socket.on("disconnect", () => {
    disconnects += 1;
  });
  sockets.push(socket);
}

async function open(plan: ClientPlan): Promise<void> {
  let next = 0;
  let subscribed = 0;
  let failed = 0;
  let retried = 0;
  let firstError: string | undefined;
  const lane = async (): Promise<void> => {
    while (next < plan.channels.length) {
      const channel = plan.channels[next++]!;
      for (let attempt = 1; ; attempt++) {
        try {
          await openOne(plan, channel);
          subscribed += 1;
          break;
        } catch (err) {
          firstError ??= err instanceof Error ? err.message : String(err);
          if (attempt < plan.attempts) {
            retried += 1;
            continue;
          }
          failed += 1;
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, lane));
  const connected = sockets.filter((s) => s.connected).length;
  send({ type: "opened", connected, subscribed, failed, retried, ...(firstError ? { firstError } : {}) });
}

function close(): void {
  for (const socket of sockets) socket.disconnect();
  // Let the close frames leave before exiting.
  setTimeout(() => process.exit(0), 200).unref();
}

process.on("message", (command: CoordinatorCommand) => {
  switch (command.type) {
    case "open":
      void open(command.plan);
      break;
    case "measure":
      measuredRun = command.run;
      received = 0;
      histogram = new LatencyHistogram();
      sinceServerTs = new LatencyHistogram();
      send({ type: "measuring" });
      break;
    case "count":
      send({ type: "count", received });
      break;
    case "report":
      send({ type: "report", received, outOfOrder, disconnects, histogram: histogram.counts, sinceServerTs: sinceServerTs.counts });
      break;
    case "close":
      close();
      break;
  }
});
// The coordinator's death must not leave thousands of sockets open.
process.on("disconnect", () => process.exit(0));
