/** Process-control messages between a worker and its primary (the broker has its own, in broker/embedded/wire.ts). */
export type WorkerToPrimary =
  | { t: "worker:ready" }
  | { t: "worker:pong" }
  | { t: "metrics:collect"; id: number };

export type PrimaryToWorker =
  | { t: "metrics:text"; id: number; text: string }
  | { t: "worker:drain" }
  | { t: "worker:ping" };

const WORKER_TO_PRIMARY = new Set(["worker:ready", "worker:pong", "metrics:collect"]);
const PRIMARY_TO_WORKER = new Set(["metrics:text", "worker:drain", "worker:ping"]);

const typed = (m: unknown, types: Set<string>): boolean =>
  typeof m === "object" && m !== null && types.has((m as { t?: unknown }).t as string);

export const isWorkerToPrimary = (m: unknown): m is WorkerToPrimary => typed(m, WORKER_TO_PRIMARY);
export const isPrimaryToWorker = (m: unknown): m is PrimaryToWorker => typed(m, PRIMARY_TO_WORKER);
