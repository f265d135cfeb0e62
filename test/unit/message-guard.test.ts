import test from "node:test";
import assert from "node:assert/strict";
import { isBrokerReply, isBrokerRequest } from "../../src/broker/embedded/wire.js";
import { isPrimaryToWorker, isWorkerToPrimary } from "../../src/ipc/control.js";
import { isStateReply, isStateRequest } from "../../src/state/embedded/state-wire.js";

test("each direction's guard takes its own message types and nothing else", () => {
  assert.ok(isWorkerToPrimary({ t: "worker:ready" }));
  assert.ok(isPrimaryToWorker({ t: "worker:ping" }));
  assert.ok(isBrokerRequest({ t: "broker:probe", id: 1 }));
  assert.ok(isBrokerReply({ t: "broker:messages", messages: [] }));
  assert.ok(isStateRequest({ t: "state:sync", entries: [] }));
  assert.ok(isStateReply({ t: "state:signals", signals: [] }));
  // The other direction's types, a neighbour's, and what other senders on the same channel put there.
  assert.ok(!isWorkerToPrimary({ t: "worker:ping" }));
  assert.ok(!isBrokerRequest({ t: "broker:reply", id: 1 }));
  assert.ok(!isStateReply({ t: "broker:messages", messages: [] }));
  for (const other of [null, undefined, "ready", 7, {}, { t: "toString" }, { t: "constructor" }, { type: "process:msg" }]) {
    assert.ok(![isWorkerToPrimary, isPrimaryToWorker, isBrokerRequest, isBrokerReply, isStateRequest, isStateReply].some((guard) => guard(other)), String(other));
  }
});
