import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import test from "node:test";

const FATAL_ERRORS = new URL("../../src/ops/fatal-errors.js", import.meta.url).href;

/** Runs a real node process that installs the handlers on a pino logger and then fails as `failure` says. */
async function runFailing(failure: string): Promise<{ code: number | null; lines: Array<Record<string, unknown>> }> {
  const script = `
    import pino from "pino";
    import { exitOnFatalErrors } from ${JSON.stringify(FATAL_ERRORS)};
    exitOnFatalErrors(pino({ base: { role: "worker", worker: 3 } }));
    setTimeout(() => { ${failure} }, 10);
    setTimeout(() => console.log(JSON.stringify({ msg: "still alive" })), 500);
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => { out += chunk; });
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, lines: out.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test("an uncaught exception is logged at fatal with its stack and the process's bindings, then the process exits 1", async () => {
  const { code, lines } = await runFailing(`throw new RangeError("Maximum call stack size exceeded")`);
  assert.equal(code, 1);
  assert.equal(lines.length, 1);
  const [line] = lines;
  assert.equal(line!.level, 60);
  assert.equal(line!.worker, 3);
  assert.equal(line!.origin, "uncaughtException");
  assert.match(String((line!.err as { stack?: string }).stack), /RangeError: Maximum call stack size exceeded/);
});

test("an unhandled rejection is logged at fatal, then the process exits 1", async () => {
  const { code, lines } = await runFailing(`Promise.reject(new Error("nobody awaited me"))`);
  assert.equal(code, 1);
  assert.equal(lines[0]?.level, 60);
  assert.match(String(lines[0]?.msg), /unhandled/);
  assert.match(String((lines[0]?.err as { message?: string }).message), /nobody awaited me/);
});
