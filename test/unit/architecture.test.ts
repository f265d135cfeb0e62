import test from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../helpers/root.js";

/** The code blocks of docs/architecture.md's "Layout" section: the folders in import order, then every file. */
function layoutBlocks(): [order: string[], files: string[]] {
  const text = readFileSync(path.join(ROOT, "docs/architecture.md"), "utf8");
  const section = text.slice(text.indexOf("## Layout"), text.indexOf("\n## ", text.indexOf("## Layout") + 1));
  const blocks = [...section.matchAll(/^```\n([\s\S]*?)^```$/gm)].map((m) => m[1]!.split("\n").filter((line) => line.trim() !== ""));
  assert.equal(blocks.length, 2, "the Layout section has two code blocks: the order, then the files");
  return blocks as [string[], string[]];
}

/** Every file under src/, as a path relative to the root. */
function sourceFiles(dir = "src"): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(`${dir}/${entry.name}`) : [`${dir}/${entry.name}`],
  );
}

/** The map's rank of a file: its top folder's line (src/main.ts has one of its own); lines run from the top down. */
function ranks(): (file: string) => number {
  const rank = new Map<string, number>();
  layoutBlocks()[0].forEach((line, i) => {
    // The entries a line starts with ("src/http/ src/ipc/" share a line); the rest describes them.
    for (const entry of line.split(/\s+/)) {
      if (!entry.startsWith("src/")) break;
      rank.set(entry, i);
    }
  });
  return (file) => {
    const top = /^src\/[\w.-]+\//.exec(file)?.[0] ?? file;
    const found = rank.get(top);
    assert.ok(found !== undefined, `${top} is not in docs/architecture.md's layout`);
    return found;
  };
}

test("the file map in docs/architecture.md names every file under src/ and nothing else", () => {
  const listed: string[] = [];
  let folder = "";
  for (const line of layoutBlocks()[1]) {
    const [first, ...rest] = line.trim().split(/\s+/);
    // A line starts with its folder; an indented line goes on listing the folder above it.
    if (!/^\s/.test(line)) folder = first!;
    for (const name of /^\s/.test(line) ? [first!, ...rest] : rest) listed.push(folder + name);
  }
  assert.deepEqual(listed.toSorted(), sourceFiles().toSorted());
});

test("imports run downwards: no file under src/ imports a folder listed above its own", () => {
  const rankOf = ranks();
  const upward: string[] = [];
  for (const file of sourceFiles().filter((f) => f.endsWith(".ts"))) {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    for (const [, target] of text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)) {
      const resolved = path.posix.join(path.posix.dirname(file), target!);
      if (rankOf(resolved) < rankOf(file)) upward.push(`${file} → ${resolved}`);
    }
  }
  assert.deepEqual(upward, []);
});
