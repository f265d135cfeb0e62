import assert from "node:assert/strict";
import { test } from "node:test";
import { ToldHeads } from "../../src/broker/redis/told-heads.js";

test("record never moves a channel back inside its epoch; another epoch replaces it", () => {
  const heads = new ToldHeads();
  heads.record("c", { epoch: "e", offset: 5 });
  heads.record("c", { epoch: "e", offset: 3 });
  assert.deepEqual(heads.entries(), [["c", { epoch: "e", offset: 5 }]]);
  heads.record("c", { epoch: "f", offset: 1 });
  assert.deepEqual(heads.entries(), [["c", { epoch: "f", offset: 1 }]]);
  heads.reset("c", { epoch: "g", offset: 0 });
  assert.deepEqual(heads.entries(), [["c", { epoch: "g", offset: 0 }]]);
});

test("heads told longer ago than a failover could lose are forgotten", () => {
  let now = 0;
  const heads = new ToldHeads(() => now);
  heads.record("old", { epoch: "e", offset: 1 });
  now = 2000;
  heads.record("recent", { epoch: "e", offset: 1 });
  heads.sweep(1000);
  assert.deepEqual(heads.entries().map(([channel]) => channel), ["recent"]);
});
