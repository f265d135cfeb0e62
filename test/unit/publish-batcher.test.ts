import assert from "node:assert/strict";
import test from "node:test";
import { ChannelLog } from "../../src/broker/embedded/channel-log.js";
import type { EmbeddedBroker } from "../../src/broker/embedded/embedded-broker.js";
import { EmbeddedHub } from "../../src/broker/embedded/hub.js";
import { isBrokerRequest } from "../../src/broker/embedded/wire.js";
import { brokerOnHub } from "../helpers/hub-broker.js";

function embedded(t: test.TestContext): { broker: EmbeddedBroker; publishMessages: () => number } {
  const hub = new EmbeddedHub(new ChannelLog({ historySize: 100, historyTtlMs: 60_000, metaTtlMs: 60_000, dedupWindowMs: 60_000, maxChannels: 100 }), (err) => {
    throw err;
  });
  const { broker, hubPort } = brokerOnHub(t, hub);
  let publishes = 0;
  hubPort.on("message", (message: unknown) => {
    if (isBrokerRequest(message) && message.t === "broker:publish") publishes++;
  });
  return { broker, publishMessages: () => publishes };
}

test("publishes made in one tick travel as one request to the sequencer; each caller gets its own outcomes, in order", async (t) => {
  const { broker, publishMessages } = embedded(t);
  const calls = Array.from({ length: 50 }, (_, n) => broker.publish([{ channels: [n % 2 ? "odd" : "even"], event: "e", data: n }]));
  calls.push(broker.publish([{ channels: ["even", "odd"], event: "both", data: null, id: "once" }, { channels: ["even"], event: "e", data: "last" }]));
  const outcomes = await Promise.all(calls);
  assert.equal(publishMessages(), 1);
  for (let n = 0; n < 50; n++) {
    const [outcome] = outcomes[n]!;
    assert.ok(outcome?.ok);
    assert.deepEqual(Object.keys(outcome.offsets), [n % 2 ? "odd" : "even"]);
    assert.equal(Object.values(outcome.offsets)[0]!.offset, Math.floor(n / 2) + 1, "offsets follow call order");
  }
  const last = outcomes[50]!;
  assert.equal(last.length, 2);
  assert.ok(last[0]?.ok && last[0].offsets.even?.offset === 26 && last[0].offsets.odd?.offset === 26);
  assert.ok(last[1]?.ok && last[1].offsets.even?.offset === 27);

  // A repeated id in a later tick is still answered with the first offsets.
  const [again] = await broker.publish([{ channels: ["even", "odd"], event: "both", data: null, id: "once" }]);
  assert.deepEqual(again, last[0]);
  assert.equal(publishMessages(), 2);
});

test("a publish over the group size is sent alone, never split, and the calls around it keep their order", async (t) => {
  const { broker, publishMessages } = embedded(t);
  const big = Array.from({ length: 600 }, (_, n) => ({ channels: ["big"], event: "e", data: n }));
  const results = await Promise.all([broker.publish([{ channels: ["small"], event: "e", data: 0 }]), broker.publish(big), broker.publish([{ channels: ["small"], event: "e", data: 1 }])]);
  assert.equal(publishMessages(), 3);
  assert.equal(results[1]!.length, 600);
  assert.ok(results[2]![0]?.ok && results[2]![0].offsets.small?.offset === 2);
});
