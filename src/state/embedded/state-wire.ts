import type { Member } from "../../protocol/presence.js";
import type { ChannelSummary, Contribution, JoinOutcome, StateSignal } from "../backend.js";

/** IPC messages between a worker's EmbeddedChannelState and the primary's StateHub. */
export type StateRequest =
  | { t: "state:sync"; entries: Contribution[] }
  | { t: "state:join"; id: number; entries: Contribution[]; channel: string; user: string; maxMembers: number }
  | { t: "state:broadcast"; signal: StateSignal }
  | { t: "state:channels"; id: number; prefix: string; limit: number }
  | { t: "state:channel"; id: number; channel: string }
  | { t: "state:members"; id: number; channel: string };

export type StateReply =
  | { t: "state:reply"; id: number; result: JoinOutcome | ChannelSummary[] | { subscribers: number; members: number } | Member[] }
  | { t: "state:signals"; signals: StateSignal[] };

const REQUESTS = new Set(["state:sync", "state:join", "state:broadcast", "state:channels", "state:channel", "state:members"]);
const REPLIES = new Set(["state:reply", "state:signals"]);

const typed = (m: unknown, types: Set<string>): boolean => typeof m === "object" && m !== null && types.has((m as { t?: unknown }).t as string);

export const isStateRequest = (m: unknown): m is StateRequest => typed(m, REQUESTS);
export const isStateReply = (m: unknown): m is StateReply => typed(m, REPLIES);
