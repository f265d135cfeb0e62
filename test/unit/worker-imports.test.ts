import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import test from "node:test";
import { ROOT } from "../helpers/root.js";

/**
 * Every file and package an entry reaches through static imports (type-only imports and
 * dynamic `import()` load nothing at that point, so they are not followed).
 */
function staticallyLoaded(...entries: string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [...entries];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(path.join(ROOT, file), "utf8");
    for (const [, specifier] of text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+"([^"]+)"/gm)) {
      if (specifier!.startsWith(".")) queue.push(path.posix.join(path.posix.dirname(file), specifier!).replace(/\.js$/, ".ts"));
      else if (!specifier!.startsWith("node:")) packages.add(specifier!);
    }
  }
  return { files, packages };
}

test("an embedded worker loads no Redis code: ioredis and the Redis backends come only by src/main.ts's dynamic import", () => {
  const { files, packages } = staticallyLoaded("src/main.ts", "src/worker/run-worker.ts", "src/worker/backends.ts");
  assert.ok(files.has("src/broker/embedded/embedded-broker.ts"), "the walk follows the embedded backends");
  assert.ok(packages.has("socket.io"), "the walk sees packages");
  assert.equal(packages.has("ioredis"), false);
  assert.deepEqual([...files].filter((file) => /redis/.test(file)), []);
});

test("the Redis modes' backends do load the Redis code", () => {
  const { files, packages } = staticallyLoaded("src/worker/redis-backends.ts");
  assert.ok(packages.has("ioredis"));
  assert.ok(files.has("src/broker/redis/redis-broker.ts"));
});
