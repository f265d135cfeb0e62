import type { Worker } from "node:cluster";
import type { Socket } from "node:net";
import type { ConsoleSeries } from "../protocol/console-series.js";
import { messageGuard } from "./transport.js";

/**
 * Process-control messages between a worker and its primary (the embedded broker and channel state
 * have their own: broker/embedded/wire.ts, state/embedded/state-wire.ts).
 */
export type WorkerToPrimary =
  | { t: "worker:ready" }
  | { t: "worker:pong" }
  | { t: "worker:stats"; stats: WorkerStats }
  | { t: "metrics:collect"; id: number }
  /** The console's per-worker time series (src/primary/worker-series.ts). */
  | { t: "series:collect"; id: number }
  /** Handed-over connections that closed since the last report: least-connection routing counts what a worker holds. */
  | { t: "conn:closed"; count: number }
  /** An Engine.IO session now lives here: requests naming its sid are routed to this worker. */
  | { t: "session:bound"; sid: string }
  | { t: "session:released"; sid: string };

/** What each worker reports every few seconds, for `pm2 monit` (pm2 itself sees only the primary). */
export interface WorkerStats {
  connections: number;
  rssBytes: number;
  /** The event loop's worst delay over the last report interval (p99), in milliseconds. */
  loopLagMs: number;
  /** Messages written to subscribers since the worker started (pusher_deliveries_total). */
  deliveries: number;
}

export type PrimaryToWorker =
  | { t: "metrics:text"; id: number; text: string }
  | { t: "series:data"; id: number; series: ConsoleSeries }
  | { t: "worker:ping" }
  /** Sent with a TCP socket handle: the bytes the primary read to route it, which the worker parses first. */
  | { t: "conn:handoff"; head: Uint8Array };

export const isWorkerToPrimary = messageGuard<WorkerToPrimary>({
  "worker:ready": true,
  "worker:pong": true,
  "worker:stats": true,
  "metrics:collect": true,
  "series:collect": true,
  "conn:closed": true,
  "session:bound": true,
  "session:released": true,
});
export const isPrimaryToWorker = messageGuard<PrimaryToWorker>({ "metrics:text": true, "series:data": true, "worker:ping": true, "conn:handoff": true });

/*
 * The only ways to send a control message: the compiler checks each message at the send site, and
 * a send to a peer whose channel is closed is skipped (Node would emit 'error' for it, unheard a crash).
 */

/** To the primary, from a worker. `written` runs once the message is on the pipe. */
export function sendToPrimary(message: WorkerToPrimary, written?: (err: Error | null) => void): boolean {
  if (!process.connected || !process.send) return false;
  return written ? process.send(message, undefined, undefined, written) : process.send(message);
}

/** To one worker, from the primary. */
export function sendToWorker(worker: Worker, message: Exclude<PrimaryToWorker, { t: "conn:handoff" }>): void {
  if (worker.isConnected()) worker.send(message);
}

/**
 * Hands a TCP socket to a worker with the bytes read from it. keepOpen false: the primary's copy
 * of the descriptor closes once the worker has it. `done` gets the error when the worker died
 * while the socket was on its way (EPIPE, ERR_IPC_CHANNEL_CLOSED).
 */
export function handOver(worker: Worker, socket: Socket, head: Uint8Array, done: (err: Error | null) => void): void {
  worker.send({ t: "conn:handoff", head } satisfies PrimaryToWorker, socket, { keepOpen: false }, done);
}

/** Tells pm2 (wait_ready) that the primary serves: the one message the primary sends its own parent. */
export function tellSupervisorReady(): void {
  process.send?.("ready");
}
