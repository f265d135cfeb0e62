import assert from "node:assert/strict";
import { test } from "node:test";
import { ReadTrail } from "../../src/broker/redis/read-trail.js";
import type { StreamEntry } from "../../src/broker/redis/fanout-entries.js";

/** A message's fan-out entry as the publish script writes it. */
function message(ms: number, offset: number, options: { ts?: number; data?: string } = {}): StreamEntry {
  const { ts = ms, data = "{}" } = options;
  return [`${ms}-0`, ["c", "x", "v", "e", "d", data, "e", "E1", "o", String(offset), "t", String(ts), "i", `m${offset}`]];
}

test("holds an entry read, by ID and what it is: another master's entry under the same ID is not it", () => {
  const trail = new ReadTrail(4);
  trail.remember(message(10, 7));
  assert.equal(trail.holds(message(10, 7)), true);
  assert.equal(trail.holds(message(10, 8)), false, "another offset under the same ID");
  assert.equal(trail.holds(message(10, 7, { ts: 9 })), false, "the same offset written at another time");
  assert.equal(trail.holds(message(11, 7)), false);
  // Only a message's position and time are kept, not its data.
  assert.equal(trail.holds(message(10, 7, { data: '"other"' })), true);
});

test("probes and signals are told apart by their fields", () => {
  const trail = new ReadTrail(4);
  trail.remember(["10-0", ["k", "nonce-1"]]);
  assert.equal(trail.holds(["10-0", ["k", "nonce-1"]]), true);
  assert.equal(trail.holds(["10-0", ["k", "nonce-2"]]), false);
});

test("keeps the newest entries only, and says which IDs lie below all it keeps", () => {
  const trail = new ReadTrail(3);
  assert.equal(trail.before("1-0"), true, "an empty trail holds nothing at or below any ID");
  for (const ms of [10, 20, 30]) trail.remember(message(ms, ms));
  assert.equal(trail.before("9-0"), true);
  assert.equal(trail.before("10-0"), false);
  trail.remember(message(40, 40));
  assert.equal(trail.holds(message(10, 10)), false, "the oldest went first");
  assert.equal(trail.holds(message(20, 20)), true);
  assert.equal(trail.before("15-0"), true);
  assert.equal(trail.before("20-0"), false);
});
