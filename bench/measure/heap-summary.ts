/**
 * `node dist/bench/measure/heap-summary.js A.heapsnapshot [B.heapsnapshot] [--per N] [--top K]`
 *
 * What a V8 heap snapshot (as `bench:connections --heap-snapshot DIR` writes) holds, by node type
 * and name (constructor for objects, "(closure) name" for functions, a type alone for strings and
 * system nodes): count and self size. With two snapshots, the difference B − A; `--per N` divides
 * it by N (the connections added between the two), which gives what one connection keeps.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { runMain } from "../entry.js";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

interface Bucket {
  count: number;
  bytes: number;
}

/** Types whose names are their contents (a string's text, a number's value): grouped by type alone. */
const NAMELESS = new Set(["string", "concatenated string", "sliced string", "number", "heap number", "bigint", "symbol"]);

function summarise(file: string): Map<string, Bucket> {
  const heap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const buckets = new Map<string, Bucket>();
  for (let i = 0; i < heap.nodes.length; i += width) {
    const type = types[heap.nodes[i + typeAt]!]!;
    const name = heap.strings[heap.nodes[i + nameAt]!]!;
    const key = NAMELESS.has(type) ? `(${type})` : type === "object" ? name : `${type}: ${name.slice(0, 60)}`;
    const bucket = buckets.get(key) ?? { count: 0, bytes: 0 };
    bucket.count += 1;
    bucket.bytes += heap.nodes[i + sizeAt]!;
    buckets.set(key, bucket);
  }
  return buckets;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { per: { type: "string" }, top: { type: "string", default: "40" } } });
  if (positionals.length < 1 || positionals.length > 2) {
    process.stderr.write("usage: heap-summary A.heapsnapshot [B.heapsnapshot] [--per N] [--top K]\n");
    return 2;
  }
  const after = summarise(positionals[positionals.length - 1]!);
  const before = positionals.length === 2 ? summarise(positionals[0]!) : new Map<string, Bucket>();
  const per = Number(values.per ?? 1);
  const rows: Array<[string, number, number]> = [];
  for (const key of new Set([...after.keys(), ...before.keys()])) {
    const a = after.get(key) ?? { count: 0, bytes: 0 };
    const b = before.get(key) ?? { count: 0, bytes: 0 };
    rows.push([key, (a.count - b.count) / per, (a.bytes - b.bytes) / per]);
  }
  rows.sort((x, y) => y[2] - x[2]);
  const total = rows.reduce((sum, r) => sum + r[2], 0);
  const unit = per === 1 ? "bytes" : `bytes per ${per}`;
  process.stdout.write(`total ${total.toFixed(0)} ${unit}\n`);
  process.stdout.write(`${"count".padStart(10)} ${"bytes".padStart(12)}  type: name\n`);
  for (const [key, count, bytes] of rows.slice(0, Number(values.top))) {
    process.stdout.write(`${count.toFixed(2).padStart(10)} ${bytes.toFixed(0).padStart(12)}  ${key}\n`);
  }
  return 0;
}

runMain(main);
