import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import test from "node:test";
import pino from "pino";
import { createRouter } from "../../src/http/router.js";
import { PusherError } from "../../src/protocol/errors.js";

test("a 500 is logged with its cause; a coded error is not", async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); done(); } });
  const router = createRouter({
    "/broken": { POST: () => { throw new TypeError("cannot read x of undefined"); } },
    "/refused": { POST: () => { throw new PusherError("invalid_request", "body: nope"); } },
  }, pino(sink));
  const server = http.createServer(router).listen(0, "127.0.0.1");
  t.after(() => server.close());
  await new Promise((resolve) => server.once("listening", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const broken = await fetch(`${url}/broken`, { method: "POST" });
  assert.equal(broken.status, 500);
  assert.deepEqual(await broken.json(), { error: { code: "internal", message: "Internal error" } }, "the answer leaks nothing");
  assert.equal((await fetch(`${url}/refused`, { method: "POST" })).status, 400);
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.msg, "request failed");
  assert.equal(lines[0]!.path, "/broken");
  assert.match(String((lines[0]!.err as { stack?: string }).stack), /TypeError: cannot read x of undefined/);
});

test("a /* route takes the paths under it; exact routes win", async (t) => {
  const router = createRouter({
    "/v1/channels": { GET: (_req, res) => { res.end("list"); } },
    "/v1/channels/*": { GET: (req, res) => { res.end(`one ${req.url}`); } },
  }, pino({ level: "silent" }));
  const server = http.createServer(router).listen(0, "127.0.0.1");
  t.after(() => server.close());
  await new Promise((resolve) => server.once("listening", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  assert.equal(await (await fetch(`${url}/v1/channels`)).text(), "list");
  assert.equal(await (await fetch(`${url}/v1/channels/a/members`)).text(), "one /v1/channels/a/members");
  assert.equal((await fetch(`${url}/v1/channelsx`)).status, 404);
  assert.equal((await fetch(`${url}/v1/channels/a`, { method: "POST" })).status, 405);
});
