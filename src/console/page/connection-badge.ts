import type { ConnectionState, StateDetail } from "../../client/index.js";

/** "reconnecting: transport close, retry in 1200 ms": the state and whatever the client said about it. */
function describeState(state: ConnectionState | "unavailable", detail: StateDetail): string {
  const extra = [detail.reason, detail.description, detail.retryInMs !== undefined ? `retry in ${detail.retryInMs} ms` : undefined].filter(
    (part): part is string => part !== undefined && part !== "",
  );
  return extra.length > 0 ? `${state}: ${extra.join(", ")}` : state;
}

/** Shows the connection state; `data-state` carries the bare state for styling and tests. */
export function showState(badge: HTMLElement, state: ConnectionState | "unavailable", detail: StateDetail = {}): void {
  badge.textContent = describeState(state, detail);
  badge.dataset.state = state;
}
