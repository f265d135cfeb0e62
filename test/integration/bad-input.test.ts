import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connectSocket, postJson, publish, subscribe } from "../helpers/clients.js";
import { startPusher, type PusherHost } from "../helpers/pusher.js";

/** Opens a raw engine.io long-polling session with the default namespace connected; returns its sid. */
async function rawSession(url: string): Promise<string> {
  const open = await (await fetch(`${url}/socket.io/?EIO=4&transport=polling`)).text();
  const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
  await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body: "40" });
  const connected = await (await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`)).text();
  assert.match(connected, /^40/, "namespace connected");
  return sid;
}

describe("bad input gets a clear error and breaks nothing", () => {
  let host: PusherHost;
  before(async () => {
    host = await startPusher(undefined, { workers: 2, env: { PUSHER_MAX_PAYLOAD_BYTES: "1024", PUSHER_MAX_CLIENT_FRAME_BYTES: "4096" } });
  });
  after(() => host?.stop());

  const assertStillServing = async (): Promise<void> => {
    const s = await connectSocket(undefined, host.url);
    try {
      assert.ok((await subscribe(s, "alive")).ok);
    } finally {
      s.disconnect();
    }
  };

  test("a malformed socket.io packet closes that session only", async () => {
    const sid = await rawSession(host.url);
    const res = await fetch(`${host.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body: '42["subscribe",{{{' });
    assert.ok(res.status === 200 || res.status === 400, `status ${res.status}`);
    const next = await fetch(`${host.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    const body = await next.text();
    // Either the session is already gone, or its last poll carries the close packet ("1"; packets are split by \x1e).
    assert.ok(next.status === 400 || body.split("\x1e").includes("1"), `the session is closed (status ${next.status}, body ${body})`);
    await assertStillServing();
  });

  test("a frame over limits.maxClientFrameBytes closes that connection only", async (t) => {
    const s = await connectSocket(t, host.url, { transports: ["websocket"] });
    const closed = new Promise<string>((resolve) => s.once("disconnect", resolve));
    s.emit("subscribe", { channel: "big", token: "x".repeat(8000) }, () => undefined);
    assert.match(await closed, /transport (close|error)/);
    s.disconnect();
    await assertStillServing();
  });

  test("subscribe payloads of the wrong shape are answered with an error code naming the field", async (t) => {
    const s = await connectSocket(t, host.url);
    const ask = (payload: unknown) => (s.timeout(5000) as any).emitWithAck("subscribe", payload);
    assert.equal((await ask(42)).error.code, "invalid_request");
    assert.equal((await ask(null)).error.code, "invalid_request");
    assert.equal((await ask({ channel: 5 })).error.code, "invalid_channel");
    assert.equal((await ask({ channel: "" })).error.code, "invalid_channel");
    assert.equal((await ask({ channel: "x".repeat(201) })).error.code, "invalid_channel");
    const since = await ask({ channel: "ok", since: "yesterday" });
    assert.equal(since.error.code, "invalid_request");
    assert.match(since.error.message, /^since/);
    (s as any).emit("subscribe", { channel: "no-ack" });
    (s as any).emit("subscribe", { channel: "bad-ack" }, "not a function");
    (s as any).emit("no-such-event", 1, 2, 3);
    assert.equal((await ask({ channel: "still-fine" })).ok, true);
  });

  test("the publish API names what is wrong", async () => {
    const garbage = await postJson(host.url, "/v1/publish", "{not json");
    assert.deepEqual([garbage.status, garbage.body.error.code], [400, "invalid_request"]);
    const noEvent = await publish(host.url, { channel: "c", data: 1 });
    assert.equal(noEvent.status, 400);
    assert.match(noEvent.body.error.message, /^event/);
    const badChannel = await publish(host.url, { channel: "no spaces", event: "e" });
    assert.deepEqual([badChannel.status, badChannel.body.error.code], [400, "invalid_channel"]);
    const both = await publish(host.url, { channel: "a", channels: ["b"], event: "e" });
    assert.equal(both.status, 400);
    const unknownField = await publish(host.url, { channel: "a", event: "e", colour: "red" });
    assert.equal(unknownField.status, 400);
    assert.match(unknownField.body.error.message, /colour/);
  });

  test("publishing needs a valid API key", async () => {
    const none = await publish(host.url, { channel: "c", event: "e" }, null);
    assert.deepEqual([none.status, none.body.error.code], [401, "unauthorized"]);
    const wrong = await publish(host.url, { channel: "c", event: "e" }, "wrong-key");
    assert.equal(wrong.status, 401);
  });

  test("payloads over limits.maxPayloadBytes get 413", async () => {
    const big = await publish(host.url, { channel: "c", event: "e", data: "x".repeat(2000) });
    assert.deepEqual([big.status, big.body.error.code], [413, "payload_too_large"]);
    const huge = await publish(host.url, { channel: "c", event: "e", data: "x".repeat(200_000) });
    assert.equal(huge.status, 413);
  });

  test("unknown endpoints and methods", async () => {
    assert.equal((await fetch(`${host.url}/v1/nothing`)).status, 404);
    assert.equal((await fetch(`${host.url}/v1/publish`)).status, 405);
  });

  test("the server is still whole after all of it", async () => {
    assert.equal((await fetch(`${host.url}/readyz`)).status, 200);
    assert.equal(host.workers.size, 2);
    assert.ok(!host.lines.some((l) => l.msg === "worker died"), "no worker crashed");
  });
});

test("a key over limits.publishRatePerSecond gets 429 with Retry-After", async (t) => {
  const host = await startPusher(t, { workers: 1, env: { PUSHER_PUBLISH_RATE_PER_SECOND: "3" } });
  const answers = await Promise.all(Array.from({ length: 8 }, () => publish(host.url, { channel: "r", event: "e" })));
  const limited = answers.filter((a) => a.status === 429);
  assert.ok(limited.length >= 4, `${limited.length} of 8 limited`);
  assert.equal(limited[0]?.body.error.code, "rate_limited");
  assert.ok(Number(limited[0]?.headers.get("retry-after")) >= 1);
});
