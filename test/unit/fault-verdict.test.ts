import assert from "node:assert/strict";
import test from "node:test";
import type { SubscriberReport } from "../../bench/failover/protocol.js";
import { analyse } from "../../bench/faults/analysis.js";
import type { FaultPublish } from "../../bench/faults/publishers.js";
import type { FaultObservation } from "../../bench/faults/round.js";

// The fault bench's verdict on a round: what counts against the target and what does not.

const FAULT_AT = 1_000_000;

function report(overrides: Partial<SubscriberReport> = {}): SubscriberReport {
  return {
    lost: [],
    missedDeliveries: 0,
    silentMisses: 0,
    silentLost: [],
    duplicates: 0,
    duplicateSamples: [],
    resyncs: 0,
    resyncReasons: {},
    disconnects: 0,
    longestGapMs: 100,
    notConnected: 0,
    worstMissers: [],
    firstArrival: [],
    ...overrides,
  };
}

function publish(seq: number, overrides: Partial<FaultPublish> = {}): FaultPublish {
  return { seq, path: "http", channel: "fault-0", issuedAt: FAULT_AT, answeredAt: FAULT_AT + 10, acked: true, unanswered: false, neverAnswered: false, ...overrides };
}

function observation(overrides: Partial<FaultObservation> = {}): FaultObservation {
  return {
    fault: "master-kill",
    round: 1,
    durability: "replica",
    plannedSubscribers: 2,
    subscribed: [2],
    connectionsPerHost: [1, 1],
    publishes: [publish(1), publish(2)],
    reports: [report()],
    faultAt: FAULT_AT,
    steps: [],
    primaryDeaths: [],
    workerDeaths: 0,
    machineBusy: 0.5,
    ...overrides,
  };
}

const epochChanged = { resyncs: 74, resyncReasons: { epoch_changed: 74 } };

test("a round with nothing wrong meets the target", () => {
  assert.deepEqual(analyse(observation()).misses, []);
});

test("at replica, epoch_changed resyncs in a master fault that lost no acknowledged message are leader-lost writes: allowed", () => {
  const result = analyse(observation({ reports: [report(epochChanged)] }));
  assert.deepEqual(result.misses, []);
  assert.equal(result.resyncsLeaderLost, true);
  assert.equal(result.resyncs, 74);
});

test("at replica, resyncs that told of a lost acknowledged message are a miss twice over", () => {
  const result = analyse(observation({ reports: [report({ ...epochChanged, lost: [[2, 1]], missedDeliveries: 1 })] }));
  assert.equal(result.resyncsLeaderLost, false);
  assert.deepEqual(result.misses, ["loss at replica durability", "74 resyncs"]);
});

test("at replica, a resync for another reason than a lost epoch, or outside a master fault, is a miss", () => {
  assert.deepEqual(analyse(observation({ reports: [report({ resyncs: 3, resyncReasons: { gap: 3 } })] })).misses, ["3 resyncs"]);
  assert.deepEqual(analyse(observation({ fault: "worker-kill", reports: [report(epochChanged)] })).misses, ["74 resyncs"]);
});

test("at leader, a master fault's resyncs are allowed even with acknowledged messages lost and told", () => {
  const result = analyse(observation({ durability: "leader", reports: [report({ ...epochChanged, lost: [[2, 1]], missedDeliveries: 1 })] }));
  assert.deepEqual(result.misses, []);
  assert.equal(result.http.toldLost, 1);
});

test("an ingress entry the writer could not get confirmed is not acknowledged, not unanswered; an HTTP publish past the bound is", () => {
  const result = analyse(
    observation({
      publishes: [
        publish(1),
        publish(1_000_000, { path: "ingress", acked: false, error: "not confirmed by the deadline", answeredAt: FAULT_AT + 12_000 }),
        publish(3, { acked: false, unanswered: true, neverAnswered: true, error: "never answered" }),
      ],
    }),
  );
  assert.equal(result.ingress.refused, 1);
  assert.equal(result.ingress.unanswered, 0);
  assert.equal(result.http.unanswered, 1);
  assert.deepEqual(result.misses, ["1 unanswered"]);
});

test("restored Redis servers: times from the first linked replica to the first 200 and to the drained ingress backlog", () => {
  const startedAt = FAULT_AT + 6_000;
  const linkedAt = startedAt + 11_000;
  const publishes = [
    publish(1, { answeredAt: startedAt - 100 }),
    publish(2, { acked: false, error: "HTTP 503", answeredAt: linkedAt - 10 }),
    publish(3, { answeredAt: linkedAt + 550 }),
    publish(4, { path: "ingress", answeredAt: linkedAt + 20 }),
  ];
  const result = analyse(observation({ fault: "double-failover", publishes, restored: { startedAt, linkedAt, backlogDrainedAt: linkedAt + 3_250, addresses: ["127.0.0.1:1"] } }));
  assert.deepEqual(result.restored, { linkedAfterMs: 11_000, firstAcceptedMs: 550, backlogDrainedMs: 3_250 });
  assert.deepEqual(result.misses, []);
});

test("restored Redis servers: publishing not back, or a backlog left, misses the target", () => {
  const startedAt = FAULT_AT + 6_000;
  const notBack = analyse(observation({ fault: "double-failover", publishes: [publish(1, { answeredAt: startedAt - 1 })], restored: { startedAt, linkedAt: startedAt + 1, addresses: ["127.0.0.1:1"] } }));
  assert.deepEqual(notBack.misses, ["publishing not accepted after a replica returned", "ingress backlog not drained"]);
  const neverLinked = analyse(observation({ fault: "double-failover", restored: { startedAt, addresses: ["127.0.0.1:1"] } }));
  assert.deepEqual(neverLinked.misses, ["no restored Redis server became a replica"]);
});

test("at replica, resyncs after Sentinel promoted a restarted, empty server are no leader-lost writes, even with nothing missed", () => {
  const startedAt = FAULT_AT + 6_000;
  const restored = { startedAt, linkedAt: startedAt + 2_000, backlogDrainedAt: startedAt + 3_000, addresses: ["127.0.0.1:2"], emptyPromoted: "127.0.0.1:2" };
  const result = analyse(observation({ fault: "double-failover", publishes: [publish(1, { answeredAt: startedAt + 2_500 })], reports: [report(epochChanged)], restored }));
  assert.equal(result.resyncsLeaderLost, false);
  assert.deepEqual(result.misses, ["74 resyncs", "empty 127.0.0.1:2 promoted: Redis history lost"]);
});
