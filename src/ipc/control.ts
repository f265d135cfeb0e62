/** Process-control messages between a worker and its primary (the broker has its own, in broker/embedded/wire.ts). */
export type WorkerToPrimary =
  | { t: "worker:ready" }
  | { t: "worker:pong" }
  | { t: "worker:stats"; stats: WorkerStats }
  | { t: "metrics:collect"; id: number }
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
}

export type PrimaryToWorker =
  | { t: "metrics:text"; id: number; text: string }
  | { t: "worker:ping" }
  /** Sent with a TCP socket handle: the bytes the primary read to route it, which the worker parses first. */
  | { t: "conn:handoff"; head: Uint8Array };

const WORKER_TO_PRIMARY = new Set(["worker:ready", "worker:pong", "worker:stats", "metrics:collect", "conn:closed", "session:bound", "session:released"]);
const PRIMARY_TO_WORKER = new Set(["metrics:text", "worker:ping", "conn:handoff"]);

const typed = (m: unknown, types: Set<string>): boolean =>
  typeof m === "object" && m !== null && types.has((m as { t?: unknown }).t as string);

export const isWorkerToPrimary = (m: unknown): m is WorkerToPrimary => typed(m, WORKER_TO_PRIMARY);
export const isPrimaryToWorker = (m: unknown): m is PrimaryToWorker => typed(m, PRIMARY_TO_WORKER);
