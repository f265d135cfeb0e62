import assert from "node:assert/strict";
import { test } from "node:test";
import { AcknowledgedHeads } from "../../src/broker/redis/acknowledged-heads.js";

test("record never moves a channel back inside its epoch; another epoch replaces it", () => {
  const heads = new AcknowledgedHeads();
  heads.record("c", { epoch: "e", offset: 5 });
  heads.record("c", { epoch: "e", offset: 3 });
  assert.deepEqual(heads.entries(), [["c", { epoch: "e", offset: 5 }]]);
  heads.record("c", { epoch: "f", offset: 1 });
  assert.deepEqual(heads.entries(), [["c", { epoch: "f", offset: 1 }]]);
  heads.reset("c", { epoch: "g", offset: 0 });
  assert.deepEqual(heads.entries(), [["c", { epoch: "g", offset: 0 }]]);
});

test("heads acknowledged longer ago than a failover could lose are forgotten", () => {
  let now = 0;
  const heads = new AcknowledgedHeads(() => now);
  heads.record("old", { epoch: "e", offset: 1 });
  now = 2000;
  heads.record("recent", { epoch: "e", offset: 1 });
  heads.sweep(1000);
  assert.deepEqual(heads.entries().map(([channel]) => channel), ["recent"]);
});
