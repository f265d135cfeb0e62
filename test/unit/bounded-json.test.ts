import assert from "node:assert/strict";
import test from "node:test";
import { parseBoundedJson, textDepth, valueDepth } from "../../src/protocol/bounded-json.js";
import { PusherError } from "../../src/protocol/errors.js";

const nested = (depth: number): string => "[".repeat(depth) + "]".repeat(depth);

test("text depth counts brackets outside strings only", () => {
  assert.equal(textDepth("1", 10), 0);
  assert.equal(textDepth('{"a":[1,{"b":[]}]}', 10), 4);
  assert.equal(textDepth('{"a":"[[[[{{{{\\"[[["}', 10), 1, "brackets inside strings, escaped quotes included, do not count");
  assert.equal(textDepth('["\\\\", [[]]]', 10), 3, "an escaped backslash ends before the closing quote");
});

test("text depth stops at the first level past the limit", () => {
  assert.equal(textDepth(nested(1_000_000), 32), 33);
});

test("value depth is measured without recursion, even a million levels deep", () => {
  let deep: unknown = [];
  for (let i = 1; i < 1_000_000; i++) deep = [deep];
  assert.equal(valueDepth(deep, 32), 33);
  assert.equal(valueDepth({ a: [{ b: 1 }], c: "x" }, 32), 3);
  assert.equal(valueDepth("scalar", 0), 0);
});

test("a too deep document is refused before it is parsed, naming the limit", () => {
  assert.deepEqual(parseBoundedJson(nested(33), 32, 1), JSON.parse(nested(33)));
  assert.throws(() => parseBoundedJson(nested(34), 32, 1), (err: unknown) => {
    assert.ok(err instanceof PusherError);
    assert.equal(err.code, "payload_too_deep");
    assert.equal(err.status, 400);
    assert.equal(err.message, "body: data nests deeper than 32 levels of arrays and objects (limits.maxPayloadDepth)");
    return true;
  });
  assert.throws(() => parseBoundedJson("{nope", 32, 1), (err: unknown) => err instanceof PusherError && err.code === "invalid_request");
});
