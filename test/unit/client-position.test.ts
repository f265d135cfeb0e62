import assert from "node:assert/strict";
import { test } from "node:test";
import { ChannelPosition } from "../../src/client/channel-position.js";
import { reconnectDelayMs } from "../../src/client/reconnect-delay.js";
import { RecentIds } from "../../src/client/recent-ids.js";
import { ChannelSubscription } from "../../src/client/subscription.js";

test("in-order messages are delivered and advance the position", () => {
  const position = new ChannelPosition({ epoch: "e1", offset: 3 });
  assert.deepEqual(position.accept({ epoch: "e1", offset: 4 }), { deliver: true });
  assert.deepEqual(position.current, { epoch: "e1", offset: 4 });
});

test("a message at or below the position in the same epoch is a duplicate", () => {
  const position = new ChannelPosition({ epoch: "e1", offset: 5 });
  assert.deepEqual(position.accept({ epoch: "e1", offset: 5 }), { deliver: false });
  assert.deepEqual(position.accept({ epoch: "e1", offset: 2 }), { deliver: false });
  assert.deepEqual(position.current, { epoch: "e1", offset: 5 });
});

test("a jump past position + 1 is a gap: delivered, and reported with the old position", () => {
  const position = new ChannelPosition({ epoch: "e1", offset: 5 });
  assert.deepEqual(position.accept({ epoch: "e1", offset: 8 }), { deliver: true, jump: { reason: "gap", previous: { epoch: "e1", offset: 5 } } });
  assert.deepEqual(position.current, { epoch: "e1", offset: 8 });
});

test("an unannounced epoch change is a gap", () => {
  const position = new ChannelPosition({ epoch: "e1", offset: 5 });
  const verdict = position.accept({ epoch: "e2", offset: 1 });
  assert.equal(verdict.deliver, true);
  assert.equal(verdict.deliver && verdict.jump?.reason, "gap");
  assert.deepEqual(position.current, { epoch: "e2", offset: 1 });
});

test("an ack without since starts at the head", () => {
  const position = new ChannelPosition();
  assert.equal(position.applyAck({ ok: true, epoch: "e1", offset: 7 }, undefined), undefined);
  assert.deepEqual(position.current, { epoch: "e1", offset: 7 });
});

test("a recovered ack keeps the position so the replay can advance it", () => {
  const since = { epoch: "e1", offset: 3 };
  const position = new ChannelPosition(since);
  assert.equal(position.applyAck({ ok: true, epoch: "e1", offset: 9, recovered: true }, since), undefined);
  assert.deepEqual(position.current, since);
  assert.deepEqual(position.accept({ epoch: "e1", offset: 4 }), { deliver: true });
});

test("recovered: false, or another epoch, jumps to the head and reports", () => {
  const since = { epoch: "e1", offset: 3 };
  const lost = new ChannelPosition(since);
  assert.deepEqual(lost.applyAck({ ok: true, epoch: "e1", offset: 9, recovered: false }, since), { reason: "gap", previous: since });
  assert.deepEqual(lost.current, { epoch: "e1", offset: 9 });
  const reset = new ChannelPosition(since);
  assert.deepEqual(reset.applyAck({ ok: true, epoch: "e2", offset: 0 }, since), { reason: "epoch_changed", previous: since });
  assert.deepEqual(reset.current, { epoch: "e2", offset: 0 });
});

test("a head below the position in the same epoch is reported, not silently trusted", () => {
  const since = { epoch: "e1", offset: 10 };
  const position = new ChannelPosition(since);
  assert.equal(position.applyAck({ ok: true, epoch: "e1", offset: 6, recovered: true }, since)?.reason, "gap");
  assert.deepEqual(position.accept({ epoch: "e1", offset: 7 }), { deliver: true });
});

test("current is a copy", () => {
  const position = new ChannelPosition({ epoch: "e1", offset: 1 });
  const bookmark = position.current!;
  position.accept({ epoch: "e1", offset: 2 });
  assert.equal(bookmark.offset, 1);
});

test("reconnect delays honour advice, back off without it, and add bounded jitter", () => {
  const options = { defaultDelayMs: 100, jitterMs: 50, maxDelayMs: 1000 };
  assert.equal(reconnectDelayMs(options, 0, 2000, () => 0), 1000);
  assert.equal(reconnectDelayMs(options, 0, 300, () => 0.5), 325);
  assert.equal(reconnectDelayMs(options, 0, undefined, () => 0), 100);
  assert.equal(reconnectDelayMs(options, 3, undefined, () => 0), 800);
  assert.equal(reconnectDelayMs(options, 30, undefined, () => 0.999), 1049);
});

test("recent ids: a repeated id is seen, and the oldest ids are forgotten past the capacity", () => {
  const ids = new RecentIds(2);
  assert.equal(ids.seen("a"), false);
  assert.equal(ids.seen("a"), true);
  assert.equal(ids.seen("b"), false);
  assert.equal(ids.seen("c"), false);
  assert.equal(ids.seen("a"), false, "forgotten: only the last 2 are kept");
  assert.equal(ids.seen("c"), true);
});

test("a subscription hands a message written again in a new epoch (same id) to the application once", () => {
  const delivered: unknown[] = [];
  const resyncs: string[] = [];
  const host = { reportError: (err: unknown) => { throw err; }, reportResync: () => undefined, release: () => undefined, sendClientEvent: async () => ({ ok: true as const }) };
  const subscription = new ChannelSubscription("c", (m) => delivered.push(m.data), { onResync: (e) => resyncs.push(e.reason) }, host);
  subscription.handleAck({ ok: true, epoch: "e1", offset: 0 }, undefined);
  subscription.handleMessage({ channel: "c", event: "v", data: 1, epoch: "e1", offset: 1, ts: 0, id: "a" });
  subscription.handleResync({ channel: "c", epoch: "e2", offset: 0, reason: "epoch_changed" });
  subscription.handleMessage({ channel: "c", event: "v", data: 1, epoch: "e2", offset: 1, ts: 0, id: "a" });
  subscription.handleMessage({ channel: "c", event: "v", data: 2, epoch: "e2", offset: 2, ts: 0, id: "b" });
  subscription.handleMessage({ channel: "c", event: "v", data: 3, epoch: "e2", offset: 3, ts: 0 });
  assert.deepEqual(delivered, [1, 2, 3]);
  assert.deepEqual(resyncs, ["epoch_changed"]);
  assert.deepEqual(subscription.position, { epoch: "e2", offset: 3 }, "the copy's offset still counts");
});
