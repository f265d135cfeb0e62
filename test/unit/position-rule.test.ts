import assert from "node:assert/strict";
import { test } from "node:test";
import { canRecover, classify, isBefore } from "../../src/protocol/position-rule.js";

const at = (epoch: string, offset: number) => ({ epoch, offset });
const replay = (...offsets: number[]) => offsets.map((offset) => ({ offset }));

test("classify: the next offset, a re-read, a skip, another epoch", () => {
  assert.equal(classify(undefined, at("e1", 9)), "next", "nothing held yet: anything starts the stream");
  assert.equal(classify(at("e1", 4), at("e1", 5)), "next");
  assert.equal(classify(at("e1", 4), at("e1", 4)), "duplicate");
  assert.equal(classify(at("e1", 4), at("e1", 1)), "duplicate");
  assert.equal(classify(at("e1", 4), at("e1", 6)), "gap");
  assert.equal(classify(at("e1", 4), at("e2", 1)), "epoch_changed");
  assert.equal(classify(at("e1", 4), at("e2", 5)), "epoch_changed", "an epoch change wins over the offsets");
});

test("isBefore orders positions within one epoch only", () => {
  assert.equal(isBefore(at("e1", 2), at("e1", 3)), true);
  assert.equal(isBefore(at("e1", 3), at("e1", 3)), false);
  assert.equal(isBefore(at("e1", 1), at("e2", 9)), false);
});

test("canRecover: exactly since + 1 … head in the head's epoch", () => {
  assert.equal(canRecover(undefined, at("e1", 5), []), true, "a fresh subscription");
  assert.equal(canRecover(at("e1", 5), at("e1", 5), []), true, "nothing missed");
  assert.equal(canRecover(at("e1", 2), at("e1", 5), replay(3, 4, 5)), true);
  assert.equal(canRecover(at("e1", 0), at("e1", 0), []), true, "an empty channel acked at offset 0");
});

test("canRecover refuses another epoch, a since past the head, and any hole in the replay", () => {
  assert.equal(canRecover(at("e0", 2), at("e1", 5), replay(3, 4, 5)), false);
  assert.equal(canRecover(at("e1", 7), at("e1", 5), []), false);
  assert.equal(canRecover(at("e1", 2), at("e1", 5), replay(4, 5)), false, "the oldest was trimmed or expired");
  assert.equal(canRecover(at("e1", 2), at("e1", 5), replay(3, 4)), false, "the head's message is missing");
  assert.equal(canRecover(at("e1", 2), at("e1", 5), replay(3, 5, 5)), false, "a hole in the middle");
});
