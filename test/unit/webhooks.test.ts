import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { DEV_WEBHOOK_SECRET } from "../../src/config/schema.js";
import { retryDelayMs } from "../../src/webhooks/retry-delay.js";
import { webhookBody } from "../../src/webhooks/webhook-post.js";
import { signWebhookBody } from "../../src/webhooks/webhook-signature.js";
import { tempDir } from "../helpers/scratch.js";

const PRODUCTION = { NODE_ENV: "production", PUSHER_API_KEYS: "k1", PUSHER_JWT_SECRET: "0123456789abcdef0123456789abcdef-production" };

test("the signature is sha256= and the hex HMAC-SHA256 of the exact body", () => {
  const body = webhookBody([{ name: "member_added", channel: "presence-a", user_id: "u1", time_ms: 1 }], 1700000000000);
  assert.equal(body, '{"time_ms":1700000000000,"events":[{"name":"member_added","channel":"presence-a","user_id":"u1"}]}');
  assert.equal(signWebhookBody(body, "s3cret"), `sha256=${createHmac("sha256", "s3cret").update(body).digest("hex")}`);
  assert.notEqual(signWebhookBody(`${body} `, "s3cret"), signWebhookBody(body, "s3cret"), "one byte more is another signature");
});

test("retry delays double from the minimum, stay under the maximum, and are jittered by up to half", () => {
  assert.deepEqual([0, 1, 2, 3].map((a) => retryDelayMs(a, 500, 60_000, () => 1)), [500, 1000, 2000, 4000]);
  assert.deepEqual([0, 1, 2].map((a) => retryDelayMs(a, 500, 60_000, () => 0)), [250, 500, 1000]);
  assert.equal(retryDelayMs(40, 500, 60_000, () => 1), 60_000);
  assert.equal(retryDelayMs(1000, 500, 60_000, () => 0), 30_000);
});

test("NODE_ENV=production refuses the development webhook secret while webhooks.urls is set", async (t) => {
  const configDir = await tempDir(t, "pusher-config-");
  const on = { ...PRODUCTION, PUSHER_WEBHOOK_URLS: "https://hooks.example/pusher" };
  assert.throws(() => loadConfig({ env: on, configDir }), (err: unknown) => err instanceof ConfigError && /webhooks\.secret/.test(err.message) && /PUSHER_WEBHOOK_SECRET/.test(err.message));
  const ok = loadConfig({ env: { ...on, PUSHER_WEBHOOK_SECRET: "a-real-webhook-secret" }, configDir });
  assert.deepEqual(ok.webhooks.urls, ["https://hooks.example/pusher"]);
  // Webhooks off: nothing is signed, so the default does not stop a production start.
  assert.equal(loadConfig({ env: PRODUCTION, configDir }).webhooks.secret, DEV_WEBHOOK_SECRET);
  assert.throws(() => loadConfig({ env: { ...on, PUSHER_WEBHOOK_URLS: "ftp://x/y" }, configDir }), /not an http:\/\/ or https:\/\/ URL/);
});
