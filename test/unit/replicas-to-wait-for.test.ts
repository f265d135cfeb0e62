import assert from "node:assert/strict";
import { test } from "node:test";
import { replicasToWaitFor } from "../../src/redis-client/replicas-to-wait-for.js";

const info = (...replicas: string[]): string =>
  ["# Replication", "role:master", `connected_slaves:${replicas.length}`, ...replicas.map((r, i) => `slave${i}:ip=10.0.0.${i},port=6379,${r}`), "master_repl_offset:9"].join("\r\n");

test("every replica in sync is waited for", () => {
  assert.equal(replicasToWaitFor(info("state=online,offset=9,lag=0", "state=online,offset=9,lag=1"), 3), 2);
});

test("a syncing replica is waited for whatever its lag field says", () => {
  assert.equal(replicasToWaitFor(info("state=online,offset=9,lag=0", "state=send_bulk,offset=0,lag=0"), 3), 2);
  assert.equal(replicasToWaitFor(info("state=online,offset=9,lag=0", "state=wait_bgsave,offset=0,lag=99"), 3), 2);
});

test("a replica silent past the lag limit is not waited for", () => {
  assert.equal(replicasToWaitFor(info("state=online,offset=9,lag=0", "state=online,offset=5,lag=4"), 3), 1);
});

test("never fewer than one: with no usable replica a publish cannot be acknowledged", () => {
  assert.equal(replicasToWaitFor(info(), 3), 1);
  assert.equal(replicasToWaitFor(info("state=online,offset=1,lag=60"), 3), 1);
});
