import assert from "node:assert/strict";
import test from "node:test";
import { MemberList } from "../../src/client/member-list.js";

test("member events are facts: a repeat or an event the list already holds changes nothing", () => {
  const list = new MemberList();
  assert.deepEqual(list.replace([{ id: "a" }]), { added: [{ id: "a" }], removed: [] });
  assert.equal(list.add({ id: "a" }), false);
  assert.equal(list.add({ id: "b", info: 1 }), true);
  assert.equal(list.remove({ id: "c" }), false);
  assert.equal(list.remove({ id: "a" }), true);
  assert.deepEqual([...list.members.keys()], ["b"]);
});

test("a fresh list tells who came and went meanwhile", () => {
  const list = new MemberList();
  list.replace([{ id: "a" }, { id: "b" }]);
  assert.deepEqual(list.replace([{ id: "b" }, { id: "c" }]), { added: [{ id: "c" }], removed: [{ id: "a" }] });
});
