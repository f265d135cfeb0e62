import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import test from "node:test";
import pino from "pino";
import type { Broker, PublishOutcome, PublishRequest } from "../../src/broker/broker.js";
import { createRouter } from "../../src/http/router.js";
import { RateLimit } from "../../src/ops/rate-limit.js";
import { PusherError } from "../../src/protocol/errors.js";
import { ApiKeys } from "../../src/publish/api-keys.js";
import { createPublishApi } from "../../src/publish/publish-api.js";

const KEY = "unit-test-key";

/** The publish API on a real HTTP server over `publish`, and the lines it logged. */
async function publishApi(t: test.TestContext, publish: (requests: PublishRequest[]) => Promise<PublishOutcome[]>) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); done(); } });
  const api = createPublishApi({
    broker: { publish } as Broker,
    apiKeys: new ApiKeys([KEY]),
    keyRate: new RateLimit(0),
    limits: { maxPayloadBytes: 1024, maxPayloadDepth: 32 },
    maxBatchMessages: 10,
    onPublished: () => undefined,
  });
  const server = http.createServer(createRouter({ "/v1/publish": { POST: api.publish }, "/v1/batch": { POST: api.batch } }, pino(sink)));
  server.listen(0, "127.0.0.1");
  t.after(() => server.close());
  await new Promise((resolve) => server.once("listening", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  return { post, lines };
}

test("every 500 of the publish API is logged with its cause, a batch's included", async (t) => {
  // A broker that breaks its contract (one outcome per request) for publishes to "lost".
  const { post, lines } = await publishApi(t, async (requests) => requests.filter((r) => !r.channels.includes("lost")).map(() => ({ ok: true, offsets: {} })));
  const message = (channel: string) => ({ channel, event: "e", data: 1 });

  const single = await post("/v1/publish", message("lost"));
  assert.deepEqual([single.status, single.body.error.code], [500, "internal"]);
  const batch = await post("/v1/batch", { messages: [message("kept"), message("lost")] });
  assert.deepEqual([batch.status, batch.body.error?.code], [500, "internal"], "not a 200 whose result says 500 and nobody logged");
  assert.equal(lines.length, 2, JSON.stringify(lines));
  assert.deepEqual(lines.map((l) => [l.msg, l.path]), [["request failed", "/v1/publish"], ["request failed", "/v1/batch"]]);
  assert.match(String((lines[0]!.err as { message?: string }).message), /no outcome/);
  assert.match(String((lines[1]!.err as { message?: string }).message), /1 outcomes for 2 publishes/);

  const refused = await post("/v1/batch", { messages: [message("kept"), { channel: "kept" }] });
  assert.equal(refused.status, 200, "a message refused is answered in its own result");
  assert.deepEqual(refused.body.results.map((r: { status?: number }) => r.status), [undefined, 400]);
  assert.equal(lines.length, 2, "and is no defect to log");
});

test("a publish the primary's hub failed on (a coded internal) is logged by the worker too, with its path", async (t) => {
  const { post, lines } = await publishApi(t, () => Promise.reject(new PusherError("internal")));
  const res = await post("/v1/publish", { channel: "c", event: "e" });
  assert.deepEqual([res.status, res.body.error.code], [500, "internal"]);
  assert.deepEqual(lines.map((l) => [l.msg, l.method, l.path]), [["request failed", "POST", "/v1/publish"]]);
});
