import assert from "node:assert/strict";
import { test } from "node:test";
import { DeliveredPositions } from "../../src/broker/redis/delivered-positions.js";
import type { Message } from "../../src/protocol/messages.js";

const message = (epoch: string, offset: number, channel = "c"): Message => ({ channel, event: "e", data: null, epoch, offset, ts: 0 });

test("re-read offsets are duplicates, the next one is delivered, a skip is a gap from the last", () => {
  const positions = new DeliveredPositions();
  assert.equal(positions.judge(message("e1", 5)).kind, "deliver", "an unknown channel starts anywhere");
  positions.advance(message("e1", 5));
  assert.equal(positions.judge(message("e1", 5)).kind, "duplicate");
  assert.equal(positions.judge(message("e1", 4)).kind, "duplicate");
  assert.equal(positions.judge(message("e1", 6)).kind, "deliver");
  assert.deepEqual(positions.judge(message("e1", 8)), { kind: "gap", since: { epoch: "e1", offset: 5 } });
});

test("a new epoch starts at 1; entries of the epoch left behind are dropped", () => {
  const positions = new DeliveredPositions();
  positions.advance(message("old", 7));
  assert.equal(positions.judge(message("new", 1)).kind, "deliver");
  assert.deepEqual(positions.judge(message("new", 3)), { kind: "gap", since: { epoch: "new", offset: 0 } });
  positions.moveTo("c", { epoch: "new", offset: 0 });
  assert.equal(positions.judge(message("old", 8)).kind, "duplicate", "a re-read of the retired epoch");
  assert.deepEqual(positions.entries(), [["c", { epoch: "new", offset: 0 }]]);
  assert.ok(positions.left("c", "old"), "a head told in the old epoch is stale");
  assert.ok(!positions.left("c", "new") && !positions.left("c", "later") && !positions.left("other", "old"));
});

test("idle channels are forgotten", () => {
  let now = 0;
  const positions = new DeliveredPositions(() => now);
  positions.advance(message("e", 1, "idle"));
  now = 500;
  positions.advance(message("e", 1, "busy"));
  now = 1200;
  positions.sweep(1000);
  assert.deepEqual(positions.entries().map(([channel]) => channel), ["busy"]);
});

test("an offset delivered again by another fan-out entry is reused; by the same entry, a re-read", () => {
  const positions = new DeliveredPositions();
  positions.advance(message("e", 1), "100-0");
  positions.advance(message("e", 2), "101-0");
  assert.equal(positions.judge(message("e", 2), "101-0").kind, "duplicate");
  assert.equal(positions.judge(message("e", 2), "105-0").kind, "reused");
  assert.equal(positions.judge(message("e", 2)).kind, "duplicate", "no entry to compare: a history read");
});
