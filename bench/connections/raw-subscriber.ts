/**
 * One load process of the connections bench: holds many subscribed connections as cheaply as a
 * client can, each a bare `ws` websocket speaking Engine.IO v4 / Socket.IO v5 by hand (handshake,
 * namespace connect, subscribe, pong), from its own loopback source address so that several
 * processes together can open more connections than one address has ports.
 */
import WebSocket from "ws";
import { LatencyHistogram } from "../load/histogram.js";
import { wallClockMs, type BenchPayload } from "../load/protocol.js";
import type { HoldCommand, HoldEvent } from "./hold-protocol.js";

const held: WebSocket[] = [];
let measuredRun = "";
let received = 0;
let disconnects = 0;
let histogram = new LatencyHistogram();

function send(event: HoldEvent): void {
  process.send?.(event);
}

function onDelivery(frame: string): void {
  // `42["message",{...}]`: the only event this bench publishes to its channels.
  const [, message] = JSON.parse(frame.slice(2)) as [string, { data?: BenchPayload }];
  if (message.data?.run !== measuredRun) return;
  received += 1;
  histogram.record(Math.max(0, wallClockMs() - message.data.sentAt));
}

/** Opens one connection and subscribes it to `channel`; rejects with why it could not. */
function openOne(url: string, localAddress: string, channel: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress });
    let subscribed = false;
    // Where a connection that times out got to: a hang is told apart by its stage.
    let stage = "connecting";
    const fail = (why: string): void => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail(`not subscribed within ${timeoutMs} ms (${stage})`), timeoutMs);
    ws.on("upgrade", () => (stage = "upgraded, no open packet"));
    ws.on("message", (data) => {
      const frame = String(data);
      if (frame === "2") ws.send("3");
      else if (frame.startsWith("42")) onDelivery(frame);
      else if (frame.startsWith("0{")) {
        stage = "namespace connect sent";
        ws.send("40");
      } else if (frame.startsWith("40")) {
        stage = "subscribe sent";
        ws.send(`420${JSON.stringify(["subscribe", { channel }])}`);
      }
      else if (frame.startsWith("44")) fail(`connect refused: ${frame.slice(2)}`);
      else if (frame.startsWith("430")) {
        if (!frame.includes('"ok":true')) return fail(`subscribe refused: ${frame.slice(3)}`);
        clearTimeout(timer);
        subscribed = true;
        held.push(ws);
        resolve();
      }
    });
    ws.on("unexpected-response", (_req, res) => fail(`HTTP ${res.statusCode}`));
    ws.on("error", (err) => {
      if (!subscribed) fail(err.message);
    });
    ws.on("close", () => {
      if (subscribed) disconnects += 1;
      else fail("closed before subscribed");
    });
  });
}

async function open(command: Extract<HoldCommand, { type: "open" }>): Promise<void> {
  const started = performance.now();
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async (): Promise<void> => {
    while (next < command.channels.length) {
      const channel = command.channels[next++]!;
      for (let attempt = 1; ; attempt++) {
        try {
          await openOne(command.url, command.localAddress, channel, command.timeoutMs);
          break;
        } catch (err) {
          firstError ??= (err as Error).message;
          if (attempt >= command.attempts) {
            failed += 1;
            break;
          }
        }
      }
    }
  };
  await Promise.all(Array.from({ length: command.concurrency }, worker));
  send({ type: "opened", held: held.length, failed, elapsedMs: performance.now() - started, ...(firstError ? { firstError } : {}) });
}

process.on("message", (command: HoldCommand) => {
  switch (command.type) {
    case "open":
      void open(command);
      return;
    case "measure":
      measuredRun = command.run;
      received = 0;
      histogram = new LatencyHistogram();
      send({ type: "measuring" });
      return;
    case "report":
      send({ type: "report", received, disconnects, histogram: histogram.counts });
      return;
    case "close":
      for (const ws of held) ws.terminate();
      process.exit(0);
  }
});
