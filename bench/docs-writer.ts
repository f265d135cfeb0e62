/** Replaces the generated results block of docs/benchmarks.md (or appends one) with a new run. */
import { readFileSync, writeFileSync } from "node:fs";

const START = "<!-- bench:results:start -->";
const END = "<!-- bench:results:end -->";

export function writeResults(docPath: string, block: string): void {
  let doc: string;
  try {
    doc = readFileSync(docPath, "utf8");
  } catch {
    doc = "# Benchmarks\n";
  }
  const generated = `${START}\n${block.trim()}\n${END}`;
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  const next =
    start >= 0 && end > start
      ? doc.slice(0, start) + generated + doc.slice(end + END.length)
      : `${doc.trimEnd()}\n\n## Results\n\n${generated}\n`;
  writeFileSync(docPath, next);
}
