import assert from "node:assert/strict";
import test from "node:test";
import { ChannelLog } from "../../src/broker/embedded/channel-log.js";

function logWithClock(options: Partial<ConstructorParameters<typeof ChannelLog>[0]> = {}) {
  const clock = { now: 1_000_000 };
  const log = new ChannelLog({ historySize: 100, historyTtlMs: 1000, metaTtlMs: 5000, dedupWindowMs: 2000, maxChannels: 1000, now: () => clock.now, ...options });
  const publish = (channel: string, id?: string) => {
    const [outcome] = log.publish([{ channels: [channel], event: "e", data: null, ...(id ? { id } : {}) }]).outcomes;
    assert.ok(outcome?.ok);
    return outcome.offsets[channel]!;
  };
  return { clock, log, publish };
}

test("expired history is not recoverable, but the epoch and offset stay", () => {
  const { clock, log, publish } = logWithClock();
  const first = publish("c");
  clock.now += 1500;
  const second = publish("c");
  assert.deepEqual(second, { epoch: first.epoch, offset: 2 });
  assert.equal(log.history("c", { epoch: first.epoch, offset: 0 }).recovered, false, "message 1 expired");
  const fresh = log.history("c", { epoch: first.epoch, offset: 1 });
  assert.deepEqual([fresh.recovered, fresh.messages.map((m) => m.offset)], [true, [2]]);
});

test("an idle channel past its meta TTL restarts in a new epoch, never reusing offsets in the old one", () => {
  const { clock, log, publish } = logWithClock();
  const old = publish("c");
  clock.now += 6000;
  log.sweep();
  assert.equal(log.channelCount, 0);
  const renewed = publish("c");
  assert.equal(renewed.offset, 1);
  assert.notEqual(renewed.epoch, old.epoch);
  assert.equal(log.history("c", old).recovered, false);
});

test("publish ids are forgotten after the dedup window", () => {
  const { clock, publish } = logWithClock();
  const first = publish("c", "id-1");
  assert.deepEqual(publish("c", "id-1"), first);
  clock.now += 2500;
  assert.equal(publish("c", "id-1").offset, 2);
});

test("subscribing to fresh names creates no channel state", () => {
  const { log } = logWithClock();
  const heads = Array.from({ length: 10_000 }, (_, i) => log.history(`fresh-${i}`).head);
  assert.equal(log.channelCount, 0);
  assert.ok(heads.every((h) => h.offset === 0 && h.epoch === heads[0]!.epoch));
});

test("a subscriber that saw an empty channel gets its first message in the epoch it was told", () => {
  const { log, publish } = logWithClock();
  const seen = log.history("c").head;
  assert.deepEqual(log.history("c", seen), { head: seen, messages: [], recovered: true });
  assert.deepEqual(publish("c"), { epoch: seen.epoch, offset: 1 });
});

test("a channel forgotten after its messages never restarts at 1 in an epoch a client saw", () => {
  const { clock, log, publish } = logWithClock();
  const old = publish("c");
  clock.now += 6000;
  log.sweep();
  const head = log.history("c").head;
  assert.notEqual(head.epoch, old.epoch, "an empty head in a new epoch");
  assert.equal(log.history("c", old).recovered, false);
  const renewed = publish("c");
  assert.deepEqual(renewed, { epoch: head.epoch, offset: 1 });
});

test("a channel forgotten lazily (no sweep yet) also leaves its epoch behind", () => {
  const { clock, log, publish } = logWithClock();
  const old = publish("c");
  clock.now += 6000;
  const renewed = publish("c");
  assert.equal(renewed.offset, 1);
  assert.notEqual(renewed.epoch, old.epoch);
  assert.equal(log.channelCount, 1);
});

test("limits.maxChannels bounds channel state; a publish past it is refused, existing channels go on", () => {
  const { clock, log, publish } = logWithClock({ maxChannels: 2 });
  publish("a");
  publish("b");
  const [refused] = log.publish([{ channels: ["c"], event: "e", data: null }]).outcomes;
  assert.ok(refused && !refused.ok);
  assert.equal(refused.error.code, "too_many_channels");
  assert.match(refused.error.message, /limits\.maxChannels/);
  const [partly] = log.publish([{ channels: ["a", "c"], event: "e", data: null }]).outcomes;
  assert.ok(partly && !partly.ok, "a request is refused whole, never half published");
  assert.equal(partly.error.code, "too_many_channels");
  assert.equal(log.history("a").head.offset, 1);
  assert.equal(publish("a").offset, 2);
  clock.now += 6000;
  log.sweep();
  assert.equal(publish("c").offset, 1, "room again once idle channels are forgotten");
});
