import assert from "node:assert/strict";
import test from "node:test";
import { covers, wasTold } from "../../bench/failover/told-gaps.js";

// The fault bench's verdict between "lost, told" and "lost silently" rests on these.

test("a gap within an epoch covers the offsets after what was held, up to where it went on", () => {
  const gap = { previous: { epoch: "e1", offset: 100 }, to: { epoch: "e1", offset: 110 } };
  assert.equal(covers(gap, { epoch: "e1", offset: 100 }), false, "the held message itself was not missed");
  assert.equal(covers(gap, { epoch: "e1", offset: 101 }), true);
  assert.equal(covers(gap, { epoch: "e1", offset: 110 }), true);
  assert.equal(covers(gap, { epoch: "e1", offset: 111 }), false, "after the jump, delivery goes on: a miss there is silent");
});

test("a jump to a new epoch covers the rest of the old one, and the new one up to its point", () => {
  const gap = { previous: { epoch: "e1", offset: 100 }, to: { epoch: "e2", offset: 5 } };
  assert.equal(covers(gap, { epoch: "e1", offset: 99 }), false);
  assert.equal(covers(gap, { epoch: "e1", offset: 250 }), true, "writes lost with the leader, acknowledged in the old epoch");
  assert.equal(covers(gap, { epoch: "e2", offset: 5 }), true);
  assert.equal(covers(gap, { epoch: "e2", offset: 6 }), false);
});

test("a message whose position nobody learnt counts as told only if the subscriber was told of any gap", () => {
  assert.equal(wasTold([], undefined), false);
  assert.equal(wasTold([{ previous: undefined, to: { epoch: "e1", offset: 3 } }], undefined), true);
  assert.equal(wasTold([], { epoch: "e1", offset: 1 }), false, "no resync: every miss is silent");
});
