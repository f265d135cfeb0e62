/**
 * `node dist/bench/measure/profile-summary.js FILE.cpuprofile [TOP]`
 *
 * What a `node --cpu-prof` profile (as `npm run bench -- --profile DIR` writes) spent its busy time
 * on: self time of the TOP hottest functions, then by package (node_modules package, Node
 * internals, pusher's own `dist`, or the native frame such as `writev`), idle left out.
 */
import { readFileSync } from "node:fs";
import { runMain } from "../entry.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function packageOf(frame: ProfileNode["callFrame"]): string {
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url);
  if (inModules) return inModules[1]!;
  if (frame.url.startsWith("node:")) return frame.url.split("/")[0]!;
  if (frame.url.includes("/dist/")) return "dist";
  return frame.functionName || "(native)";
}

function place(frame: ProfileNode["callFrame"]): string {
  const file = frame.url.replace(/.*node_modules\//, "").replace(/.*\/dist\//, "");
  return `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber}`;
}

function rows(totals: Map<string, number>, busyUs: number, count: number): string[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / busyUs).toFixed(1).padStart(5)} %  ${name}`);
}

async function main(): Promise<number> {
  const [file, top = "15"] = process.argv.slice(2);
  if (file === undefined) throw new Error("usage: profile-summary FILE.cpuprofile [TOP]");
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)!.callFrame;
    const us = profile.timeDeltas[i] ?? 0;
    if (frame.functionName === "(idle)") {
      idleUs += us;
      return;
    }
    busyUs += us;
    byFunction.set(place(frame), (byFunction.get(place(frame)) ?? 0) + us);
    byPackage.set(packageOf(frame), (byPackage.get(packageOf(frame)) ?? 0) + us);
  });
  const lines = [
    `busy ${(busyUs / 1000).toFixed(0)} ms, idle ${(idleUs / 1000).toFixed(0)} ms`,
    "self time by function:",
    ...rows(byFunction, busyUs, Number(top)),
    "self time by package:",
    ...rows(byPackage, busyUs, 12),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

runMain(main);
