/** The fault bench's tables: one line per fault over its rounds, then every round. */
import { fixed, spread, table, thousands } from "../markdown.js";
import type { FaultResult, PathFigures } from "./analysis.js";

const seconds = (ms: number): string => fixed(ms / 1000, 2);

function byFault(results: FaultResult[]): FaultResult[][] {
  const groups = new Map<string, FaultResult[]>();
  for (const r of results) groups.set(`${r.fault}/${r.durability}`, [...(groups.get(`${r.fault}/${r.durability}`) ?? []), r]);
  return [...groups.values()];
}

const both = (r: FaultResult, f: (p: PathFigures) => number): number => f(r.http) + f(r.ingress);

function counts(p: PathFigures): string {
  return `${thousands(p.published)} / ${thousands(p.acknowledged)} / ${thousands(p.refused)} / ${thousands(p.unanswered)} (${thousands(p.neverAnswered)})`;
}

/** One row per fault (and durability): counts summed over its rounds, times as median (min–max). */
export function faultSummary(results: FaultResult[]): string {
  return table(
    [
      "fault",
      "durability",
      "rounds",
      "rounds on target",
      "acked",
      "acked lost silently (http + ingress)",
      "acked lost, told",
      "duplicates",
      "resyncs",
      "unanswered (never answered)",
      "refused (503…)",
      "primary deaths",
      "failed drains",
      "longest publish answer, s",
      "outage (longest subscriber gap), s",
    ],
    byFault(results).map((rounds) => {
      const total = (f: (r: FaultResult) => number): string => thousands(rounds.reduce((sum, r) => sum + f(r), 0));
      return [
        rounds[0]!.fault,
        rounds[0]!.durability,
        String(rounds.length),
        String(rounds.filter((r) => r.misses.length === 0).length),
        total((r) => both(r, (p) => p.acknowledged)),
        `${total((r) => both(r, (p) => p.silentLost))} (${total((r) => r.http.silentLost)} + ${total((r) => r.ingress.silentLost)})`,
        total((r) => both(r, (p) => p.toldLost)),
        total((r) => r.duplicates),
        total((r) => r.resyncs),
        `${total((r) => both(r, (p) => p.unanswered))} (${total((r) => both(r, (p) => p.neverAnswered))})`,
        total((r) => both(r, (p) => p.refused)),
        total((r) => r.primaryDeaths),
        total((r) => r.failedDrains),
        spread(rounds.map((r) => Math.max(r.http.longestAnswerMs, r.ingress.longestAnswerMs)), seconds),
        spread(rounds.map((r) => r.outageMs), seconds),
      ];
    }),
  );
}

/** Every round, with what the fault did and anything that went wrong. */
export function faultRounds(results: FaultResult[]): string {
  return table(
    [
      "fault",
      "round",
      "subscribers (per host)",
      "http published / acked / refused / unanswered (never)",
      "ingress published / acked / refused / unanswered (never)",
      "acked lost silently (missed pairs silent / all)",
      "acked lost, told",
      "duplicates",
      "resyncs",
      "primary deaths / failed drains (worker deaths)",
      "longest answer http / ingress, s",
      "outage s",
      "machine busy",
      "target",
      "fault steps; notes",
    ],
    results.map((r) => [
      `${r.fault} (${r.durability})`,
      String(r.round),
      `${r.subscribers} (${r.connectionsPerHost.join(" / ")})`,
      counts(r.http),
      counts(r.ingress),
      `${thousands(both(r, (p) => p.silentLost))} (${thousands(r.silentMisses)} / ${thousands(r.missedDeliveries)})`,
      thousands(both(r, (p) => p.toldLost)),
      thousands(r.duplicates),
      r.resyncs > 0 ? `${thousands(r.resyncs)} (${r.resyncReasons})` : "0",
      `${r.primaryDeaths} / ${r.failedDrains} (${r.workerDeaths})`,
      `${seconds(r.http.longestAnswerMs)} / ${seconds(r.ingress.longestAnswerMs)}`,
      seconds(r.outageMs),
      `${fixed(r.machineBusy * 100, 0)} %`,
      r.misses.length === 0 ? "met" : `**missed**: ${r.misses.join(", ")}`,
      // A table cell holds no newline or pipe.
      [...r.steps, ...r.notes].join("; ").replace(/\n/g, " ").replace(/\|/g, "\\|") || "-",
    ]),
  );
}
