/** The failover tables printed by `npm run bench -- --scenario failover` and kept in the docs. */
import { fixed, spread, table, thousands } from "../markdown.js";
import type { FailoverResult } from "./analysis.js";

const seconds = (ms: number): string => fixed(ms / 1000, 2);
const millis = (ms: number): string => fixed(ms, 0);

function byServer(results: FailoverResult[]): FailoverResult[][] {
  const groups = new Map<string, FailoverResult[]>();
  for (const r of results) groups.set(r.server, [...(groups.get(r.server) ?? []), r]);
  return [...groups.values()];
}

/** One row per server: counts summed over the rounds, times as median (min–max). */
export function failoverTable(results: FailoverResult[]): string {
  return table(
    [
      "server",
      "rounds",
      "published",
      "acknowledged",
      "publish errors",
      "acknowledged lost",
      "duplicates",
      "+switch-master after fault, s",
      "outage (fault → first delivery), s",
      "outage across hosts, s",
      "first ack after +switch-master, ms",
      "first ack of a publish issued after the fault, ms after +switch-master",
    ],
    byServer(results).map((runs) => {
      const total = (f: (r: FailoverResult) => number): string => thousands(runs.reduce((sum, r) => sum + f(r), 0));
      const times = (f: (r: FailoverResult) => number, format: (v: number) => string): string => spread(runs.map(f), format);
      return [
        runs[0]!.server,
        String(runs.length),
        total((r) => r.published),
        total((r) => r.acknowledged),
        total((r) => r.publishErrors),
        total((r) => r.lost),
        total((r) => r.duplicates),
        times((r) => r.switchMs, seconds),
        times((r) => r.outageMs, seconds),
        times((r) => r.crossHostOutageMs, seconds),
        times((r) => r.firstAckAfterSwitchMs, millis),
        times((r) => r.firstPostFaultAckMs, millis),
      ];
    }),
  );
}

/** Every round, with the counts behind the headline and anything that went wrong. */
export function failoverRounds(results: FailoverResult[]): string {
  return table(
    [
      "round",
      "server",
      "subscribers",
      "published / acked / errors",
      "acked lost (missed deliveries)",
      "duplicates",
      "resyncs",
      "disconnects",
      "switch s",
      "outage s (across hosts)",
      "first ack after switch ms (post-fault publish)",
      "longest publish answer s",
      "machine busy",
      "notes",
    ],
    results.map((r) => [
      String(r.round),
      r.server,
      String(r.subscribers),
      `${thousands(r.published)} / ${thousands(r.acknowledged)} / ${thousands(r.publishErrors)}`,
      `${thousands(r.lost)} (${thousands(r.missedDeliveries)})`,
      thousands(r.duplicates),
      thousands(r.resyncs),
      thousands(r.disconnects),
      seconds(r.switchMs),
      `${seconds(r.outageMs)} (${seconds(r.crossHostOutageMs)})`,
      `${millis(r.firstAckAfterSwitchMs)} (${millis(r.firstPostFaultAckMs)})`,
      seconds(r.longestAnswerMs),
      `${fixed(r.machineBusy * 100, 0)} %`,
      [r.errorKinds && `errors: ${r.errorKinds}`, ...r.notes].filter(Boolean).join("; ") || "-",
    ]),
  );
}
