/** Turns run results into the Markdown tables printed by `npm run bench` and kept in the docs. */
import { fixed, median, spread, table, thousands } from "./markdown.js";
import type { RunResult } from "./scenario-runner.js";

/** One run of one server on one scenario, numbered by repetition. */
export type RunRow = RunResult & { repeat: number };

interface Headline {
  deliveriesPerSecond: number;
  deliveriesPerCpuSecond: number;
  p50Ms: number;
  p99Ms: number;
  rssMb: number;
  rssKbPerConnection: number;
  lost: number;
}

function headline(r: RunResult): Headline {
  return {
    deliveriesPerSecond: r.received / r.windowSeconds,
    deliveriesPerCpuSecond: r.received / r.serverCpuSeconds,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    rssMb: r.loadRssBytes / 2 ** 20,
    rssKbPerConnection: (r.loadRssBytes - r.idleRssBytes) / 1024 / r.subscribed,
    lost: r.expected - r.received,
  };
}

/** The headline table: one row per scenario and server, the median over repetitions (min–max). */
export function resultsTable(rows: RunRow[]): string {
  const groups = new Map<string, RunRow[]>();
  for (const row of rows) {
    const key = `${row.scenario}\u0000${row.server}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return table(
    ["server", "scenario", "runs", "connections", "deliveries/s", "deliveries per server CPU-s", "p50 ms", "p99 ms", "server RSS MB", "RSS KB/connection", "lost"],
    [...groups.values()].map((runs) => {
      const h = runs.map(headline);
      const pick = (f: (x: Headline) => number): number[] => h.map(f);
      return [
        runs[0]!.server,
        runs[0]!.scenario,
        String(runs.length),
        thousands(median(runs.map((r) => r.subscribed))),
        thousands(median(pick((x) => x.deliveriesPerSecond))),
        spread(pick((x) => x.deliveriesPerCpuSecond), thousands),
        spread(pick((x) => x.p50Ms), (v) => fixed(v, 1)),
        spread(pick((x) => x.p99Ms), (v) => fixed(v, 1)),
        fixed(median(pick((x) => x.rssMb)), 0),
        fixed(median(pick((x) => x.rssKbPerConnection)), 1),
        thousands(pick((x) => x.lost).reduce((a, b) => a + b, 0)),
      ];
    }),
  );
}

/** Every run, with what the headline rests on: window, CPU on all sides, counts, anything that went wrong. */
export function detailsTable(rows: RunRow[]): string {
  return table(
    [
      "run",
      "server",
      "scenario",
      "window s",
      "server CPU s (primary)",
      "deliveries per server CPU-s",
      "load-gen cores busy",
      "machine busy",
      "received / expected",
      "p50 / p99 ms",
      "publish answer p50 / p99 ms",
      "server ts→arrival p50 / p99 ms",
      "idle RSS MB",
      "notes",
    ],
    rows.map((r) => [
      String(r.repeat),
      r.server,
      r.scenario,
      fixed(r.windowSeconds, 2),
      `${fixed(r.serverCpuSeconds, 2)} (${fixed(r.primaryCpuSeconds, 2)})`,
      thousands(r.received / r.serverCpuSeconds),
      fixed(r.loadCpuSeconds / r.windowSeconds, 2),
      `${fixed(r.machineBusy * 100, 0)} %`,
      `${thousands(r.received)} / ${thousands(r.expected)}`,
      `${fixed(r.p50Ms, 1)} / ${fixed(r.p99Ms, 1)}`,
      `${fixed(r.publishResponseP50Ms, 1)} / ${fixed(r.publishResponseP99Ms, 1)}`,
      `${fixed(r.serverTsP50Ms, 1)} / ${fixed(r.serverTsP99Ms, 1)}`,
      fixed(r.idleRssBytes / 2 ** 20, 0),
      r.notes.join("; ") || "-",
    ]),
  );
}
