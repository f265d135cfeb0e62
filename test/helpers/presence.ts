import type { TestContext } from "node:test";
import { PusherClient } from "../../src/client/index.js";
import type { Subscription } from "../../src/client/index.js";
import type { ClientEvent, Member } from "../../src/protocol/presence.js";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { postJson, type PublishResponse } from "./clients.js";
import { DEV_API_KEY } from "./pusher.js";
import { channelToken } from "./tokens.js";
import { withTimeout } from "./with-timeout.js";

/** A presence token for `channel` naming user `id` (with `info` when given). */
export function presenceToken(channel: string, id: string, info?: unknown): Promise<string> {
  return channelToken({ channel, user: info === undefined ? { id } : { id, info } });
}

/**
 * One client helper connection subscribed to a private or presence channel, recording what it is
 * told: member changes and client events. `until` re-checks its condition at each of them and at
 * each connection state change.
 */
export class ChannelView {
  readonly client: PusherClient;
  readonly subscription: Subscription;
  readonly added: string[] = [];
  readonly removed: string[] = [];
  readonly clientEvents: ClientEvent[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(t: TestContext, url: string, channel: string, token: string, connectionToken?: string) {
    this.client = new PusherClient(url, { transports: ["websocket"], ...(connectionToken ? { token: connectionToken } : {}), socketOptions: { reconnectionDelay: 100, reconnectionDelayMax: 500 } });
    this.client.on("error", () => undefined);
    t.after(() => this.client.close());
    const changed = (): void => { for (const wake of this.#waiters) wake(); };
    this.client.on("state", changed);
    this.subscription = this.client.subscribe(channel, () => undefined, {
      token,
      onMemberAdded: (m) => { this.added.push(m.id); changed(); },
      onMemberRemoved: (m) => { this.removed.push(m.id); changed(); },
      onClientEvent: (e) => { this.clientEvents.push(e); changed(); },
    });
  }

  get memberIds(): string[] {
    return [...this.subscription.members.keys()].sort();
  }

  member(id: string): Member | undefined {
    return this.subscription.members.get(id);
  }

  /** Resolves once `done` holds (checked now and at every member change or client event). */
  until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (done()) return Promise.resolve();
    let wake!: () => void;
    const reached = new Promise<void>((resolve) => {
      wake = () => { if (done()) resolve(); };
      this.#waiters.add(wake);
    });
    return withTimeout(reached, timeoutMs, `${what} (members ${JSON.stringify(this.memberIds)}, added ${JSON.stringify(this.added)}, removed ${JSON.stringify(this.removed)})`).finally(() => this.#waiters.delete(wake));
  }

  /** Resolves once the members are exactly `ids`. */
  membersAre(ids: string[], timeoutMs?: number): Promise<void> {
    const want = JSON.stringify([...ids].sort());
    return this.until(() => JSON.stringify(this.memberIds) === want, `members ${want}`, timeoutMs);
  }
}

/** Subscribes a presence view for user `id` and waits for its ack. */
export async function joinPresence(t: TestContext, url: string, channel: string, id: string, info?: unknown): Promise<ChannelView> {
  const view = new ChannelView(t, url, channel, await presenceToken(channel, id, info));
  await view.subscription.ready;
  return view;
}

export async function getJson(url: string, path: string): Promise<PublishResponse> {
  const res = await fetch(url + path, { headers: { authorization: `Bearer ${DEV_API_KEY}` } });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** Polls a channel state endpoint until `check` accepts its body (counts converge within channelState.countSyncMs). */
export function stateEventually(url: string, path: string, check: (body: any) => boolean, timeoutMs = 10_000): Promise<any> {
  return retryUntil(async () => {
    const res = await getJson(url, path);
    if (res.status !== 200 || !check(res.body)) throw new Error(`${path} answered ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }, { timeoutMs, intervalMs: 100 });
}

export function disconnectUser(url: string, user: string): Promise<PublishResponse> {
  return postJson(url, `/v1/users/${encodeURIComponent(user)}/disconnect`, {});
}
