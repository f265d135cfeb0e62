import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { errorTable, PusherError, retryAfterOf, type ErrorCode } from "../../src/protocol/errors.js";
import { rawErrorResponse } from "../../src/http/responses.js";
import { ROOT } from "../helpers/root.js";

const codes = Object.keys(errorTable) as ErrorCode[];

/** The rows of docs/protocol.md's error code table: code → [status, Retry-After]. */
function documentedCodes(): Map<string, [number, number | undefined]> {
  const text = readFileSync(path.join(ROOT, "docs/protocol.md"), "utf8");
  const section = text.slice(text.indexOf("## Error codes"));
  const rows = new Map<string, [number, number | undefined]>();
  for (const match of section.matchAll(/^\| `([a-z_]+)` \| (\d+) \| *(\d*) *\|/gm)) {
    assert.ok(!rows.has(match[1]!), `docs/protocol.md lists ${match[1]} twice`);
    rows.set(match[1]!, [Number(match[2]), match[3] === "" ? undefined : Number(match[3])]);
  }
  return rows;
}

test("every error code is documented with its status and Retry-After, and the docs name no other", () => {
  const documented = documentedCodes();
  assert.deepEqual([...documented.keys()].sort(), [...codes].sort());
  for (const code of codes) assert.deepEqual(documented.get(code), [errorTable[code].status, retryAfterOf(code)], code);
});

test("error codes and messages are unique, codes are snake_case", () => {
  for (const code of codes) assert.match(code, /^[a-z]+(_[a-z]+)*$/);
  const messages = codes.map((code) => errorTable[code].message);
  assert.equal(new Set(messages).size, messages.length);
});

test("the codes a caller should retry carry Retry-After, and only those", () => {
  for (const code of codes) {
    const retryable = errorTable[code].status === 503 || code === "rate_limited";
    assert.equal(retryAfterOf(code) !== undefined, retryable, code);
    assert.equal(new PusherError(code).retryAfter, retryAfterOf(code), code);
  }
  assert.equal(new PusherError("rate_limited", undefined, 7).retryAfter, 7);
});

test("a raw error answer is the HTTP the table says, with its body's length", () => {
  const raw = rawErrorResponse("unavailable", "No worker is ready");
  const [head, body] = raw.split("\r\n\r\n") as [string, string];
  const lines = head.split("\r\n");
  assert.equal(lines[0], "HTTP/1.1 503 Service Unavailable");
  assert.ok(lines.includes("Retry-After: 1"), head);
  assert.ok(lines.includes("Connection: close"), head);
  assert.ok(lines.includes(`Content-Length: ${Buffer.byteLength(body)}`), head);
  assert.deepEqual(JSON.parse(body), { error: { code: "unavailable", message: "No worker is ready" } });
  assert.ok(!rawErrorResponse("forbidden").includes("Retry-After"));
});
