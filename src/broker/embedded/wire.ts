import { messageGuard } from "../../ipc/transport.js";
import type { ErrorBody } from "../../protocol/errors.js";
import type { Message, StreamPosition } from "../../protocol/messages.js";
import type { PublishRequest } from "../broker.js";

/** IPC messages between the worker-side embedded broker and the primary's hub. */
export type BrokerRequest =
  | { t: "broker:publish"; id: number; requests: PublishRequest[] }
  | { t: "broker:history"; id: number; channel: string; since?: StreamPosition }
  | { t: "broker:probe"; id: number };

export type WireOutcome = { ok: true; offsets: Record<string, StreamPosition> } | { ok: false; error: ErrorBody };

export type BrokerReply =
  | { t: "broker:reply"; id: number; result: unknown }
  /** Fan-out, batched per tick. */
  | { t: "broker:messages"; messages: Message[] }
  /** A probe's answer travels the fan-out path, behind any queued messages. */
  | { t: "broker:probe-echo"; id: number }
  /** The hub failed on this request (a defect): the caller gets the error instead of waiting out its timeout. */
  | { t: "broker:failed"; id: number; error: ErrorBody };

export const isBrokerRequest = messageGuard<BrokerRequest>({ "broker:publish": true, "broker:history": true, "broker:probe": true });
export const isBrokerReply = messageGuard<BrokerReply>({ "broker:reply": true, "broker:messages": true, "broker:probe-echo": true, "broker:failed": true });
