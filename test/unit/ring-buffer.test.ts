import assert from "node:assert/strict";
import test from "node:test";
import { RingBuffer } from "../../src/broker/embedded/ring-buffer.js";

const contents = (ring: RingBuffer<number>): number[] => Array.from({ length: ring.length }, (_, i) => ring.at(i)!);

test("the ring keeps the newest `capacity` items in order while it grows", () => {
  const ring = new RingBuffer<number>(10);
  for (let i = 1; i <= 7; i++) ring.push(i);
  assert.deepEqual(contents(ring), [1, 2, 3, 4, 5, 6, 7]);
  for (let i = 8; i <= 25; i++) ring.push(i);
  assert.deepEqual(contents(ring), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
});

test("dropping from the front keeps the order, and an emptied ring refills", () => {
  const ring = new RingBuffer<number>(5);
  for (let i = 1; i <= 8; i++) ring.push(i);
  ring.dropWhile((n) => n < 6);
  assert.deepEqual(contents(ring), [6, 7, 8]);
  ring.dropWhile(() => true);
  assert.equal(ring.length, 0);
  ring.push(9);
  ring.push(10);
  assert.deepEqual(contents(ring), [9, 10]);
});

test("a zero-capacity ring keeps nothing", () => {
  const ring = new RingBuffer<number>(0);
  ring.push(1);
  assert.equal(ring.length, 0);
});
