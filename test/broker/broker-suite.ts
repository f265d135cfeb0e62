import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Broker } from "../../src/broker/broker.js";
import type { Message } from "../../src/protocol/messages.js";
import { MessageCollector } from "../helpers/message-collector.js";

export interface BrokerFixture {
  /** Brokers as separate workers would hold them, sharing one backend. */
  brokers: Broker[];
  close(): Promise<void>;
}

export interface SuiteOptions {
  historySize: number;
}

/** What a broker backend must do, written once and run against every backend (STYLE §3). */
export function brokerSuite(name: string, options: SuiteOptions, create: () => Promise<BrokerFixture>): void {
  describe(`broker contract: ${name}`, () => {
    const withFixture = (title: string, body: (f: BrokerFixture) => Promise<void>): void => {
      test(title, async () => {
        const fixture = await create();
        try {
          await body(fixture);
        } finally {
          await fixture.close();
        }
      });
    };

    /** Resolves with the first `count` messages a broker fans out. */
    const collect = async (broker: Broker, count: number): Promise<Message[]> => {
      const seen = new MessageCollector();
      broker.onMessages((messages) => seen.add(...messages));
      return (await seen.waitFor(count)).slice(0, count);
    };

    const one = async (broker: Broker, channel: string, data: unknown = null, id?: string) => {
      const [outcome] = await broker.publish([{ channels: [channel], event: "e", data, ...(id ? { id } : {}) }]);
      assert.ok(outcome?.ok, "publish succeeds");
      return outcome.offsets[channel]!;
    };

    withFixture("offsets start at 1 and grow by 1 per channel, in one epoch", async ({ brokers: [a, b] }) => {
      const first = await one(a!, "c1");
      const second = await one(b!, "c1");
      const other = await one(a!, "c2");
      assert.equal(first.offset, 1);
      assert.deepEqual(second, { epoch: first.epoch, offset: 2 });
      assert.equal(other.offset, 1);
    });

    withFixture("a message carries its publish id, live and in history replays", async ({ brokers: [a, b] }) => {
      const live = collect(b!, 1);
      const at = await one(a!, "ids", 1, "order-1");
      assert.equal((await live)[0]!.id, "order-1");
      const { messages } = await b!.history("ids", { epoch: at.epoch, offset: 0 });
      assert.deepEqual(messages.map((m) => m.id), ["order-1"]);
    });

    withFixture("every broker receives every message once, in offset order", async ({ brokers }) => {
      const received = brokers.map((b) => collect(b, 20));
      for (let i = 0; i < 20; i++) await one(brokers[i % brokers.length]!, "fan", i);
      for (const messages of await Promise.all(received)) {
        assert.deepEqual(messages.map((m) => m.offset), Array.from({ length: 20 }, (_, i) => i + 1));
        assert.deepEqual(messages.map((m) => m.data), Array.from({ length: 20 }, (_, i) => i));
        assert.ok(messages.every((m) => m.channel === "fan" && m.event === "e" && typeof m.ts === "number"));
      }
    });

    withFixture("history without since gives the head; with since, what came after it", async ({ brokers: [a] }) => {
      const empty = await a!.history("h");
      assert.equal(empty.head.offset, 0);
      for (let i = 1; i <= 5; i++) await one(a!, "h", i);
      const head = await a!.history("h");
      assert.deepEqual(head.head, { epoch: empty.head.epoch, offset: 5 });
      const since2 = await a!.history("h", { epoch: empty.head.epoch, offset: 2 });
      assert.equal(since2.recovered, true);
      assert.deepEqual(since2.messages.map((m) => m.data), [3, 4, 5]);
      const atHead = await a!.history("h", head.head);
      assert.deepEqual([atHead.recovered, atHead.messages.length], [true, 0]);
    });

    withFixture("since in another epoch or past the head is not recoverable", async ({ brokers: [a] }) => {
      const { epoch } = await one(a!, "x");
      const otherEpoch = await a!.history("x", { epoch: "gone-epoch", offset: 1 });
      assert.deepEqual([otherEpoch.recovered, otherEpoch.messages.length, otherEpoch.head.offset], [false, 0, 1]);
      const future = await a!.history("x", { epoch, offset: 7 });
      assert.equal(future.recovered, false);
    });

    withFixture("a gap beyond the kept history is not recoverable", async ({ brokers: [a] }) => {
      const total = options.historySize * 2;
      let epoch = "";
      for (let i = 1; i <= total; i++) ({ epoch } = await one(a!, "trim", i));
      const tooOld = await a!.history("trim", { epoch, offset: 1 });
      assert.equal(tooOld.recovered, false);
      const kept = await a!.history("trim", { epoch, offset: total - options.historySize });
      assert.equal(kept.recovered, true);
      assert.equal(kept.messages.length, options.historySize);
      assert.equal(kept.messages.at(-1)?.offset, total);
    });

    withFixture("a repeated publish id returns the first offsets and is delivered once", async ({ brokers: [a, b] }) => {
      const received = collect(b!, 2);
      const first = await one(a!, "idem", "x", "req-1");
      const retry = await one(b!, "idem", "x", "req-1");
      assert.deepEqual(retry, first);
      await one(a!, "idem", "y");
      const messages = await received;
      assert.deepEqual(messages.map((m) => [m.offset, m.data]), [[1, "x"], [2, "y"]]);
    });

    withFixture("a publish id is scoped to its channels: the same id on another channel is another message", async ({ brokers: [a, b] }) => {
      const received = collect(b!, 2);
      assert.equal((await one(a!, "scoped-1", "x", "req-1")).offset, 1);
      assert.equal((await one(a!, "scoped-2", "y", "req-1"))?.offset, 1, "answered for the channel it was sent to");
      const messages = await received;
      assert.deepEqual(messages.map((m) => [m.channel, m.offset, m.data]), [["scoped-1", 1, "x"], ["scoped-2", 1, "y"]]);
    });

    withFixture("a retried publish id listing its channels in another order is not published again", async ({ brokers: [a, b] }) => {
      const received = collect(b!, 3);
      const publishTo = async (channels: string[], data: string, id?: string) => {
        const [outcome] = await a!.publish([{ channels, event: "e", data, ...(id ? { id } : {}) }]);
        assert.ok(outcome?.ok);
        return outcome.offsets;
      };
      const first = await publishTo(["order-a", "order-b"], "x", "req-order");
      assert.deepEqual(await publishTo(["order-b", "order-a"], "x", "req-order"), first);
      await publishTo(["order-a"], "after");
      const messages = await received;
      assert.deepEqual(messages.map((m) => [m.channel, m.offset, m.data]), [["order-a", 1, "x"], ["order-b", 1, "x"], ["order-a", 2, "after"]]);
    });

    withFixture("one publish to several channels takes an offset in each", async ({ brokers: [a] }) => {
      const [outcome] = await a!.publish([{ channels: ["m1", "m2"], event: "e", data: 1 }]);
      assert.ok(outcome?.ok);
      assert.deepEqual(Object.keys(outcome.offsets).sort(), ["m1", "m2"]);
      assert.equal(outcome.offsets.m1?.offset, 1);
      assert.equal(outcome.offsets.m2?.offset, 1);
    });

    withFixture("a batch answers one outcome per request, in order", async ({ brokers: [a] }) => {
      const outcomes = await a!.publish([1, 2, 3].map((i) => ({ channels: ["batch"], event: "e", data: i })));
      assert.deepEqual(outcomes.map((o) => (o.ok ? o.offsets.batch?.offset : -1)), [1, 2, 3]);
    });

    withFixture("the probe travels the whole path", async ({ brokers }) => {
      await Promise.all(brokers.map((b) => b.probe(2000)));
    });
  });
}
