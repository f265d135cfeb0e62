import { messageGuard } from "../../ipc/transport.js";
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

export const isStateRequest = messageGuard<StateRequest>({
  "state:sync": true,
  "state:join": true,
  "state:broadcast": true,
  "state:channels": true,
  "state:channel": true,
  "state:members": true,
});
export const isStateReply = messageGuard<StateReply>({ "state:reply": true, "state:signals": true });
