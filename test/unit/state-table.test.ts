import assert from "node:assert/strict";
import test from "node:test";
import type { StateSignal } from "../../src/state/backend.js";
import { StateTable } from "../../src/state/embedded/state-table.js";
import type { WebhookEvent } from "../../src/webhooks/webhook-events.js";

function table() {
  const signals: StateSignal[] = [];
  const events: WebhookEvent[] = [];
  const t = new StateTable({ signal: (s) => signals.push(s), webhook: (e) => events.push(...e) });
  const names = (): string[] => events.map((e) => `${e.name}${e.user_id ? `:${e.user_id}` : ""}`);
  return { t, signals, names };
}

test("occupied and vacated count across workers, members across connections", () => {
  const { t, signals, names } = table();
  t.apply(1, [{ k: "s", channel: "presence-a", count: 1 }, { k: "m", channel: "presence-a", user: "u", info: '{"n":1}', count: 1 }]);
  t.apply(2, [{ k: "s", channel: "presence-a", count: 1 }, { k: "m", channel: "presence-a", user: "u", info: '{"n":1}', count: 1 }]);
  assert.deepEqual(names(), ["channel_occupied", "member_added:u"], "the second worker and connection change nothing");
  assert.deepEqual(t.channel("presence-a"), { subscribers: 2, members: 1 });
  assert.deepEqual(t.members("presence-a"), [{ id: "u", info: { n: 1 } }]);
  t.apply(1, [{ k: "m", channel: "presence-a", user: "u", info: "", count: 0 }, { k: "s", channel: "presence-a", count: 0 }]);
  assert.deepEqual(names(), ["channel_occupied", "member_added:u"]);
  t.dropWorker(2);
  assert.deepEqual(names(), ["channel_occupied", "member_added:u", "member_removed:u", "channel_vacated"]);
  assert.deepEqual(signals.map((s) => s.t), ["member_added", "member_removed"]);
  assert.deepEqual(t.channels("", 10), [], "nothing is kept for a vacated channel");
});

test("stating the same count again is idempotent", () => {
  const { t, names } = table();
  const entries = [{ k: "s" as const, channel: "c", count: 3 }];
  t.apply(1, entries);
  t.apply(1, entries);
  assert.deepEqual(names(), ["channel_occupied"]);
  assert.deepEqual(t.channels("c", 10), [{ channel: "c", subscribers: 3 }]);
  assert.deepEqual(t.channels("x", 10), []);
});

test("a full presence channel refuses new users, not members already in", () => {
  const { t } = table();
  const join = (user: string) => t.join(1, [{ k: "m", channel: "presence-b", user, info: "", count: 1 }], "presence-b", user, 2);
  assert.equal(join("a").ok, true);
  assert.equal(join("b").ok, true);
  assert.deepEqual(join("c"), { ok: false });
  assert.equal(join("a").ok, true);
});
