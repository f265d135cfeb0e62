import type { ConnectionState, PusherClient, StateDetail } from "../../src/client/index.js";
import { withTimeout } from "./with-timeout.js";

/** Resolves on the client's next transition to `state`. */
export function nextState(client: PusherClient, state: ConnectionState, timeoutMs = 15_000): Promise<StateDetail> {
  let off = (): void => undefined;
  const reached = new Promise<StateDetail>((resolve) => {
    off = client.on("state", (s, detail) => {
      if (s === state) resolve(detail);
    });
  });
  return withTimeout(reached, timeoutMs, `client state ${state}`).finally(() => off());
}
