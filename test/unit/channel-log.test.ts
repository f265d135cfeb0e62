import assert from "node:assert/strict";
import test from "node:test";
import { ChannelLog } from "../../src/broker/embedded/channel-log.js";

function logWithClock(options: Partial<ConstructorParameters<typeof ChannelLog>[0]> = {}) {
  const clock = { now: 1_000_000 };
  const log = new ChannelLog({ historySize: 100, historyTtlMs: 1000, metaTtlMs: 5000, dedupWindowMs: 2000, now: () => clock.now, ...options });
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
