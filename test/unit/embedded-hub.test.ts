import assert from "node:assert/strict";
import test from "node:test";
import type { PublishRequest } from "../../src/broker/broker.js";
import { ChannelLog } from "../../src/broker/embedded/channel-log.js";
import { EmbeddedHub } from "../../src/broker/embedded/hub.js";
import { PusherError } from "../../src/protocol/errors.js";
import { brokerOnHub } from "../helpers/hub-broker.js";

/** A log with a defect that one kind of publish triggers. */
class DefectiveLog extends ChannelLog {
  override publish(requests: PublishRequest[]): ReturnType<ChannelLog["publish"]> {
    if (requests.some((r) => r.event === "poison")) throw new RangeError("Maximum call stack size exceeded");
    return super.publish(requests);
  }
}

test("a request the primary's hub fails on is answered at once and reported; the hub goes on serving", async (t) => {
  const reported: Array<{ err: unknown; request?: string }> = [];
  const hub = new EmbeddedHub(new DefectiveLog({ historySize: 10, historyTtlMs: 60_000, metaTtlMs: 60_000, dedupWindowMs: 60_000, maxChannels: 100 }), (err, context) => {
    reported.push({ err, ...context });
  });
  const { broker } = brokerOnHub(t, hub);

  const started = Date.now();
  await assert.rejects(broker.publish([{ channels: ["c"], event: "poison", data: null }]), (err: unknown) => err instanceof PusherError && err.code === "internal");
  assert.ok(Date.now() - started < 5000, "answered, not left to the 30 s timeout");
  assert.equal(reported.length, 1);
  assert.equal(reported[0]!.request, "broker:publish");
  assert.match(String(reported[0]!.err), /RangeError/);

  const [outcome] = await broker.publish([{ channels: ["c"], event: "fine", data: null }]);
  assert.ok(outcome?.ok && outcome.offsets.c?.offset === 1);
});
