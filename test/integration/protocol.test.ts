import assert from "node:assert/strict";
import { after, before, describe, test, type TestContext } from "node:test";
import { connectSocket, messageLog, publish, subscribe, postJson, type TestSocket } from "../helpers/clients.js";
import { startPusher, type PusherHost } from "../helpers/pusher.js";
import { channelToken } from "../helpers/tokens.js";

describe("client protocol and publish API (one host, two workers)", () => {
  let host: PusherHost;
  before(async () => {
    host = await startPusher(undefined, { workers: 2, env: { PUSHER_HISTORY_SIZE: "5", PUSHER_MAX_SUBSCRIPTIONS_PER_SOCKET: "3" } });
  });
  after(() => host?.stop());

  const socket = (t: TestContext): Promise<TestSocket> => connectSocket(t, host.url);

  test("a subscriber receives published messages with channel, event, data, epoch, offset and ts", async (t) => {
    const s = await socket(t);
    const log = messageLog(s, "news");
    const ack = await subscribe(s, "news");
    assert.ok(ack.ok);
    const res = await publish(host.url, { channel: "news", event: "headline", data: { title: "hi" } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.offsets.news, { epoch: ack.epoch, offset: ack.offset + 1 });
    const [m] = await log.waitFor(1);
    assert.equal(m?.event, "headline");
    assert.deepEqual(m?.data, { title: "hi" });
    assert.deepEqual([m?.epoch, m?.offset], [ack.epoch, ack.offset + 1]);
    assert.ok(typeof m?.ts === "number" && Math.abs(Date.now() - m.ts) < 10_000);
  });

  test("unsubscribe stops delivery", async (t) => {
    const s = await socket(t);
    const log = messageLog(s, "unsub");
    const marker = messageLog(s, "unsub-marker");
    assert.ok((await subscribe(s, "unsub")).ok);
    assert.ok((await subscribe(s, "unsub-marker")).ok);
    assert.deepEqual(await s.timeout(5000).emitWithAck("unsubscribe", { channel: "unsub" }), { ok: true });
    // One publish to both channels, "unsub" first: the same socket, on the same worker, gets the
    // marker only after any copy of the "unsub" message, so once the marker is here none can follow.
    assert.equal((await publish(host.url, { channels: ["unsub", "unsub-marker"], event: "e", data: 1 })).status, 200);
    await marker.waitFor(1);
    assert.deepEqual(log.messages, []);
  });

  test("since recovers exactly the missed messages, in order, before new ones", async (t) => {
    const s = await socket(t);
    const ack = await subscribe(s, "rec");
    assert.ok(ack.ok);
    for (let i = 1; i <= 3; i++) await publish(host.url, { channel: "rec", event: "e", data: i });
    const late = await socket(t);
    const log = messageLog(late, "rec");
    const lateAck = await subscribe(late, "rec", { since: { epoch: ack.epoch, offset: ack.offset + 1 } });
    assert.ok(lateAck.ok);
    assert.deepEqual([lateAck.recovered, lateAck.offset], [true, ack.offset + 3]);
    await publish(host.url, { channel: "rec", event: "e", data: 4 });
    const messages = await log.waitFor(3);
    assert.deepEqual(messages.map((m) => m.data), [2, 3, 4]);
  });

  test("since that cannot be honoured says recovered: false", async (t) => {
    const s = await socket(t);
    const ack = await subscribe(s, "lost", { since: { epoch: "no-such-epoch", offset: 3 } });
    assert.ok(ack.ok);
    assert.equal(ack.recovered, false);
    for (let i = 1; i <= 8; i++) await publish(host.url, { channel: "trimmed", event: "e", data: i });
    const trimmed = await subscribe(s, "trimmed", { since: { epoch: (await subscribe(await socket(t), "trimmed") as { epoch: string }).epoch, offset: 1 } });
    assert.ok(trimmed.ok);
    assert.equal(trimmed.recovered, false, "history.size is 5: offsets 2 and 3 are gone");
  });

  test("private channels need a token that names them, unexpired and correctly signed", async (t) => {
    const s = await socket(t);
    const denied = await subscribe(s, "private-a");
    assert.deepEqual(denied.ok ? null : denied.error.code, "forbidden");
    assert.ok((await subscribe(s, "private-a", { token: await channelToken({ channel: "private-a" }) })).ok);
    assert.ok((await subscribe(s, "presence-b", { token: await channelToken({ channels: ["x", "presence-b"], user: { id: "u" } }) })).ok);
    const wrongChannel = await subscribe(s, "private-c", { token: await channelToken({ channel: "private-other" }) });
    assert.ok(!wrongChannel.ok && wrongChannel.error.code === "forbidden" && /private-c/.test(wrongChannel.error.message), JSON.stringify(wrongChannel));
    const expired = await subscribe(s, "private-c", { token: await channelToken({ channel: "private-c" }, { expiresAt: Math.floor(Date.now() / 1000) - 60 }) });
    assert.ok(!expired.ok && expired.error.code === "forbidden" && /expired/.test(expired.error.message));
    const forged = await subscribe(s, "private-c", { token: await channelToken({ channel: "private-c" }, { secret: "x".repeat(40) }) });
    assert.ok(!forged.ok && forged.error.code === "forbidden");
  });

  test("a token given at connection (auth.token) opens the channels it names", async (t) => {
    const s = await connectSocket(t, host.url, { auth: { token: await channelToken({ channel: "private-conn" }) } });
    assert.ok((await subscribe(s, "private-conn")).ok);
  });

  test("subscriptions per socket are limited", async (t) => {
    const s = await socket(t);
    for (const c of ["l1", "l2", "l3"]) assert.ok((await subscribe(s, c)).ok);
    const fourth = await subscribe(s, "l4");
    assert.deepEqual(fourth.ok ? null : fourth.error.code, "too_many_subscriptions");
    assert.ok((await subscribe(s, "l1")).ok, "re-subscribing a held channel is not a new subscription");
  });

  test("a publish id makes retries idempotent", async (t) => {
    const s = await socket(t);
    const log = messageLog(s, "idem");
    assert.ok((await subscribe(s, "idem")).ok);
    const first = await publish(host.url, { channel: "idem", event: "e", data: 1, id: "order-42" });
    const retry = await publish(host.url, { channel: "idem", event: "e", data: 1, id: "order-42" });
    assert.deepEqual(retry.body, first.body);
    await publish(host.url, { channel: "idem", event: "e", data: 2 });
    const messages = await log.waitFor(2);
    assert.deepEqual(messages.map((m) => m.data), [1, 2]);
  });

  test("publish to several channels and /v1/batch answer offsets per channel and per message", async () => {
    const multi = await publish(host.url, { channels: ["mc1", "mc2"], event: "e", data: null });
    assert.equal(multi.status, 200);
    assert.deepEqual(Object.keys(multi.body.offsets).sort(), ["mc1", "mc2"]);
    const batch = await postJson(host.url, "/v1/batch", { messages: [{ channel: "b1", event: "e", data: 1 }, { channel: "bad name", event: "e" }, { channel: "b1", event: "e", data: 2 }] });
    assert.equal(batch.status, 200);
    const [a, bad, b] = batch.body.results;
    assert.equal(a.ok, true);
    assert.deepEqual([bad.ok, bad.status, bad.error.code], [false, 400, "invalid_channel"]);
    assert.equal(b.offsets.b1.offset, a.offsets.b1.offset + 1);
  });

  test("health, readiness and metrics endpoints", async (t) => {
    const s = await socket(t);
    assert.ok((await subscribe(s, "metered")).ok);
    assert.ok((await subscribe(s, "metered-2", { since: { epoch: "gone", offset: 1 } })).ok);
    assert.equal((await fetch(`${host.url}/healthz`)).status, 200);
    const ready = await fetch(`${host.url}/readyz`);
    assert.equal(ready.status, 200);
    const metrics = await (await fetch(`${host.url}/metrics`)).text();
    assert.match(metrics, /^pusher_publishes_total\{result="ok"\} \d+/m);
    assert.match(metrics, /^pusher_delivery_latency_seconds_bucket/m);
    assert.match(metrics, /^nodejs_eventloop_lag_seconds/m);
    assert.match(metrics, /^pusher_connections [1-9]/m);
    assert.match(metrics, /^pusher_subscriptions [2-9]/m);
    assert.match(metrics, /^pusher_recoveries_total\{result="not_recovered"\} [1-9]/m);
  });
});
