import assert from "node:assert/strict";
import test from "node:test";
import { routable, sessionIdOf } from "../../src/primary/request-head.js";
import { RoutingTable } from "../../src/primary/routing-table.js";

test("a new connection goes to the ready worker holding the fewest connections", () => {
  const table = new RoutingTable<string>();
  table.markReady("a");
  table.markReady("b");
  table.opened("a");
  table.opened("a");
  table.opened("b");
  assert.equal(table.pick(), "b");
  table.opened("b");
  table.opened("b");
  assert.equal(table.pick(), "a");
  table.closed("b", 3);
  assert.equal(table.pick(), "b", "closed connections no longer count");
  assert.equal(table.held("b"), 0);
});

test("a worker that has not said ready, or is gone, is never picked", () => {
  const table = new RoutingTable<string>();
  table.opened("fresh");
  table.bind("0123456789abcdefghij", "fresh");
  assert.equal(table.pick(), undefined, "nothing is ready");
  assert.equal(table.pick("0123456789abcdefghij"), undefined, "a session cannot pin a worker that is not ready");
  table.markReady("a");
  table.markReady("b");
  table.opened("a");
  table.remove("b");
  assert.equal(table.pick(), "a", "b is gone although it holds fewer");
  table.remove("a");
  assert.equal(table.pick(), undefined);
});

test("a session's requests go to the worker holding it, until it is released or that worker goes", () => {
  const table = new RoutingTable<string>();
  const sid = "AbCdEfGhIj-_0123456x";
  table.markReady("a");
  table.markReady("b");
  table.opened("b");
  table.bind(sid, "b");
  assert.equal(table.pick(sid), "b", "bound, although b holds more");
  table.release(sid, "a");
  assert.equal(table.pick(sid), "b", "only its holder releases a session");
  table.release(sid, "b");
  assert.equal(table.pick(sid), "a");
  table.bind(sid, "b");
  table.remove("b");
  assert.equal(table.pick(sid), "a", "a dead worker's sessions route like new connections");
});

test("the session id is read from the request line's query, whatever comes after it", () => {
  const sid = "AbCdEfGhIj-_0123456x";
  assert.equal(sessionIdOf(Buffer.from(`GET /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\n\r\n`)), sid);
  assert.equal(sessionIdOf(Buffer.from(`POST /socket.io/?EIO=4&sid=${sid}&t=abc HTTP/1.1\r\n`)), sid);
  assert.equal(sessionIdOf(Buffer.from(`GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nCookie: sid=${sid}\r\n\r\n`)), undefined, "only the request line counts");
  assert.equal(sessionIdOf(Buffer.from(`GET /x?sid=${sid}0 HTTP/1.1\r\n`)), undefined, "not a 20-character id");
  assert.equal(routable(Buffer.from("GET /socket.io/?EIO=4"), 8192), false, "the request line is not complete yet");
  assert.equal(routable(Buffer.from("GET / HTTP/1.1\r\n"), 8192), true);
  assert.equal(routable(Buffer.alloc(64, 0x41), 64), true, "too long to wait for");
});
