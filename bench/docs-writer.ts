/**
 * Replaces one generated section of docs/benchmarks.md (or appends it under its heading) with a
 * new run, leaving everything outside its markers as written by hand.
 */
import { readFileSync, writeFileSync } from "node:fs";

/** A generated block: `marker` names its comment markers, `heading` titles it when first appended. */
export interface DocSection {
  marker: string;
  heading: string;
}

export const throughputSection: DocSection = { marker: "results", heading: "Results" };
export const failoverSection: DocSection = { marker: "failover", heading: "Failover" };
/** One section per durability, so a `replica` run does not replace the `leader` one. */
export const faultsSection = (durability: string): DocSection => ({ marker: `faults-${durability}`, heading: `Fault bench (${durability})` });

export function writeResults(docPath: string, block: string, section: DocSection): void {
  const start = `<!-- bench:${section.marker}:start -->`;
  const end = `<!-- bench:${section.marker}:end -->`;
  let doc: string;
  try {
    doc = readFileSync(docPath, "utf8");
  } catch {
    doc = "# Benchmarks\n";
  }
  const generated = `${start}\n${block.trim()}\n${end}`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  const next =
    from >= 0 && to > from
      ? doc.slice(0, from) + generated + doc.slice(to + end.length)
      : `${doc.trimEnd()}\n\n## ${section.heading}\n\n${generated}\n`;
  writeFileSync(docPath, next);
}
