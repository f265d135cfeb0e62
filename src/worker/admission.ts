import type { ExtendedError } from "socket.io";
import { errorTable, type ErrorCode } from "../protocol/errors.js";
import type { PacedRate } from "../ops/rate-limit.js";
import type { PusherSocket } from "./io-types.js";

export interface AdmissionDeps {
  isDraining(): boolean;
  /** New connections are paced through it; refused only when its queue is full. */
  connectionPacer: PacedRate;
  maxConnections: number;
  connectionCount(): number;
  onReject(reason: ErrorCode): void;
}

/** The client sees `connect_error` with `err.data.code` from the error table. */
function refusal(code: ErrorCode, message: string = errorTable[code].message): ExtendedError {
  const err = new Error(message) as ExtendedError;
  err.data = { code };
  return err;
}

/**
 * Socket.IO middleware that protects a worker from reconnect storms: refuses new connections while
 * draining or above limits.maxConnections, and paces them to limits.connectionRatePerSecond,
 * refusing only beyond limits.connectionQueueSeconds of backlog.
 */
export function admission(deps: AdmissionDeps) {
  return (_socket: PusherSocket, next: (err?: ExtendedError) => void): void => {
    const refuse = (code: ErrorCode, message?: string): void => {
      deps.onReject(code);
      next(refusal(code, message));
    };
    if (deps.isDraining()) return refuse("draining");
    if (deps.maxConnections > 0 && deps.connectionCount() > deps.maxConnections) return refuse("rate_limited", "this worker is at limits.maxConnections");
    deps.connectionPacer.take().then(
      () => next(),
      (err: Error) => refuse("rate_limited", err.message),
    );
  };
}
