import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { Locator, Page } from "playwright-core";
import { launchChromium } from "../helpers/chromium.js";
import { publish } from "../helpers/clients.js";
import { DEV_API_KEY, startPusher } from "../helpers/pusher.js";
import { ROOT } from "../helpers/root.js";

/** The /console page in headless Chromium against a real host, and when it is (not) served. */

const SCREENSHOT = path.join(ROOT, "test-results/console.png");
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const UI_TIMEOUT_MS = 15_000;

/** The text of each cell of a table row. */
async function cells(row: Locator): Promise<string[]> {
  return (await row.locator("td").allTextContents()).map((text) => text.trim());
}

async function fillAndPublish(page: Page, key: string): Promise<void> {
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Publish", exact: true }).click();
}

test("the console shows the connection, subscribes, logs messages with offsets and publishes with a key", async (t) => {
  const host = await startPusher(t, { workers: 2 });
  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const pageErrors: string[] = [];
  const policyViolations: string[] = [];
  const websockets: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (msg) => {
    if (/Content[- ]Security[- ]Policy/i.test(msg.text())) policyViolations.push(msg.text());
  });
  page.on("websocket", (ws) => websockets.push(ws.url()));
  page.setDefaultTimeout(UI_TIMEOUT_MS);

  const channel = `console-${randomUUID().slice(0, 8)}`;
  await page.goto(`${host.url}/console`);
  const state = page.getByTestId("connection-state");
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor();
  assert.equal(await state.textContent(), "connected");

  await page.locator("#subscribe-channel").fill(channel);
  await page.getByRole("button", { name: "Subscribe", exact: true }).click();
  const subscription = page.locator(`[data-testid="subscription"][data-channel="${channel}"]`);
  await page.locator(`[data-testid="subscription"][data-channel="${channel}"][data-status="ok"]`).waitFor();
  const [name, status, headEpoch, headOffset] = await cells(subscription);
  assert.deepEqual([name, status, headOffset], [channel, "subscribed", "0"], "a fresh channel's head is offset 0");
  assert.match(headEpoch ?? "", /^[0-9a-z]+$/);

  // A private channel without a token: the server's refusal shows on its row.
  await page.locator("#subscribe-channel").fill("private-console");
  await page.getByRole("button", { name: "Subscribe", exact: true }).click();
  await page.locator('[data-testid="subscription"][data-channel="private-console"][data-status="error"]').waitFor();
  assert.match((await cells(page.locator('[data-testid="subscription"][data-channel="private-console"]')))[1] ?? "", /refused: forbidden/);

  // From the page: the publish form was filled with the first channel subscribed to.
  assert.equal(await page.locator("#publish-channel").inputValue(), channel);
  await page.getByLabel("Event").fill("from-console");
  await page.getByLabel("Data").fill('{"note": "<b>markup stays text</b>"}');
  await fillAndPublish(page, DEV_API_KEY);
  const result = page.getByTestId("publish-result");
  await page.locator('[data-testid="publish-result"][data-status="200"]').waitFor();
  assert.match((await result.textContent()) ?? "", new RegExp(`published: ${channel} → epoch \\S+, offset 1$`));

  // From outside, through the HTTP API.
  const external = await publish(host.url, { channel, event: "from-api", data: { n: 2 } });
  assert.equal(external.status, 200);
  const epoch = external.body.offsets[channel].epoch as string;
  assert.equal(external.body.offsets[channel].offset, 2);

  const row = (offset: number): Locator => page.locator(`[data-testid="message"][data-channel="${channel}"][data-offset="${offset}"]`);
  await row(2).waitFor();
  // Columns: time, channel, event, epoch, offset, data.
  assert.deepEqual((await cells(row(1))).slice(1), [channel, "from-console", epoch, "1", '{"note":"<b>markup stays text</b>"}']);
  assert.deepEqual((await cells(row(2))).slice(1), [channel, "from-api", epoch, "2", '{"n":2}']);
  assert.equal(await page.getByTestId("message-log").locator("b").count(), 0, "message data is shown as text, never parsed as markup");
  const order = await Promise.all((await page.locator('[data-testid="message"]').all()).map((r) => r.getAttribute("data-offset")));
  assert.deepEqual(order, ["2", "1"], "newest first");
  assert.deepEqual((await cells(subscription)).slice(2, 4), [epoch, "2"], "the subscription shows the position the client holds");

  await fillAndPublish(page, "not-a-key");
  await page.locator('[data-testid="publish-result"][data-status="401"]').waitFor();
  assert.match((await result.textContent()) ?? "", /^401 unauthorized: /);

  mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  const png = readFileSync(SCREENSHOT);
  assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE), `${SCREENSHOT} is a PNG`);
  assert.ok(png.length > 20_000, `${SCREENSHOT} holds a rendered page (${png.length} bytes)`);

  // A drained host: the page says why it lost the connection and that it is coming back.
  await host.stop();
  await page.locator('[data-testid="connection-state"][data-state="reconnecting"]').waitFor();
  assert.match((await state.textContent()) ?? "", /^reconnecting: draining, retry in \d+ ms$/);

  assert.deepEqual(pageErrors, [], "no script errors");
  assert.deepEqual(policyViolations, [], "nothing the page loads is blocked by its own Content-Security-Policy");
  assert.ok(websockets.some((url) => url.includes("/socket.io/")), `the client upgraded to a websocket under the CSP (saw ${JSON.stringify(websockets)})`);
});

test("the console is off in production unless PUSHER_CONSOLE=on, and is served with strict headers", async (t) => {
  const production = { NODE_ENV: "production", PUSHER_API_KEYS: "console-test-key", PUSHER_JWT_SECRET: "console-test-secret-".repeat(3), PUSHER_REDIS_MODE: "none" };
  const [off, on] = await Promise.all([
    startPusher(t, { workers: 1, env: production }),
    startPusher(t, { workers: 1, env: { ...production, PUSHER_CONSOLE: "on" } }),
  ]);

  for (const asset of ["/console", "/console/console.js", "/console/pusher-client.js"]) {
    const res = await fetch(off.url + asset);
    assert.equal(res.status, 404, `${asset} is not served in production by default`);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "not_found");
  }

  const page = await fetch(`${on.url}/console`);
  assert.equal(page.status, 200);
  assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
  const csp = page.headers.get("content-security-policy") ?? "";
  assert.match(csp, /(^|; )default-src 'none'(;|$)/);
  assert.match(csp, /(^|; )script-src 'self'(;|$)/);
  assert.match(csp, /(^|; )connect-src 'self'(;|$)/);
  assert.equal(page.headers.get("x-content-type-options"), "nosniff");
  assert.equal(page.headers.get("cache-control"), "no-cache");
  const html = await page.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
  assert.doesNotMatch(html, /\sstyle=|<style/, "no inline style");

  const etag = page.headers.get("etag");
  assert.ok(etag, "an ETag to revalidate with");
  const again = await fetch(`${on.url}/console`, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);

  for (const [asset, type] of [
    ["/console/console.js", "text/javascript; charset=utf-8"],
    ["/console/console.css", "text/css; charset=utf-8"],
    ["/console/pusher-client.js", "text/javascript; charset=utf-8"],
  ] as const) {
    const res = await fetch(on.url + asset);
    assert.equal(res.status, 200, asset);
    assert.equal(res.headers.get("content-type"), type, asset);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", asset);
    assert.ok((await res.arrayBuffer()).byteLength > 1000, `${asset} has content`);
  }
  const post = await fetch(`${on.url}/console`, { method: "POST" });
  assert.equal(post.status, 405);
});

test("the console charts each worker's connections and message rate, and lists occupied channels with the key", async (t) => {
  const host = await startPusher(t, { workers: 2 });
  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1280, height: 1200 } });
  const pageErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  await page.goto(`${host.url}/console`);
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor();

  const channel = `charts-${randomUUID().slice(0, 8)}`;
  await page.locator("#subscribe-channel").fill(channel);
  await page.getByRole("button", { name: "Subscribe", exact: true }).click();
  await page.locator(`[data-testid="subscription"][data-channel="${channel}"][data-status="ok"]`).waitFor();

  // One row per worker slot; the page's own connection shows in one of them once a sample is taken.
  const rows = page.getByTestId("worker-series");
  await page.locator('[data-testid="worker-series"] svg:not([data-points="0"])').first().waitFor();
  assert.equal(await rows.count(), 2);
  // Column `at` of every worker row, summed: 1 = connections now, 3 = messages per second now.
  const column = async (at: number): Promise<number[]> => Promise.all((await rows.all()).map(async (r) => Number((await cells(r))[at])));
  // The page's CSP forbids evaluating strings, so the test polls the rows from here.
  const until = async (check: () => Promise<boolean>, what: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
      await page.waitForTimeout(250);
    }
  };
  // A sample taken before a worker reported the page's connection still says 0: wait for the next.
  await until(async () => (await column(1)).reduce((a, b) => a + b, 0) === 1, "the page's own connection, as /metrics counts it");

  // Deliveries between two samples show as a message rate.
  for (let i = 0; i < 20; i++) assert.equal((await publish(host.url, { channel, event: "tick", data: { i } })).status, 200);
  await page.locator(`[data-testid="message"][data-channel="${channel}"][data-offset="20"]`).waitFor();
  await until(async () => (await column(3)).some((rate) => rate > 0), "a message rate above 0 at the first sample after the deliveries");
  assert.ok((await page.locator('[data-testid="worker-series"] svg polyline').count()) >= 4, "a connections and a rate line per worker");

  // Channels: nothing is asked without the key; with it, the list or a plain "unavailable".
  const status = page.getByTestId("channels-status");
  assert.equal(await status.getAttribute("data-state"), "idle");
  await page.getByLabel("API key").fill(DEV_API_KEY);
  await page.locator('[data-testid="channels-status"]:not([data-state="idle"])').waitFor();
  if ((await status.getAttribute("data-state")) === "ok") {
    const row = page.locator(`[data-testid="channel"][data-channel="${channel}"]`);
    await row.waitFor();
    assert.equal((await cells(row))[1], "1", "the page's subscription");
  } else {
    assert.match((await status.textContent()) ?? "", /^\/v1\/channels: this server has no channel state API$/);
  }
  await page.getByLabel("API key").fill("not-a-key");
  await page.locator('[data-testid="channels-status"][data-state="error"]').waitFor();
  await status.filter({ hasText: /refused \(401\)|no channel state API/ }).waitFor();
  assert.deepEqual(pageErrors, [], "no script errors");
});
