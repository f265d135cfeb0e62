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

const optionalSeconds = (ms: number | undefined): string => (ms === undefined ? "none" : seconds(ms));

/** "restart → linked / first 200 / backlog drained", or "-" for a fault that restores nothing. */
function restoredCell(r: FaultResult): string {
  if (r.restored === undefined) return "-";
  const { linkedAfterMs, firstAcceptedMs, backlogDrainedMs } = r.restored;
  return `${optionalSeconds(linkedAfterMs)} / ${optionalSeconds(firstAcceptedMs)} / ${optionalSeconds(backlogDrainedMs)}`;
}

function resyncCell(r: FaultResult): string {
  if (r.resyncs === 0) return "0";
  return `${thousands(r.resyncs)} (${r.resyncReasons}${r.resyncsLeaderLost && r.durability === "replica" ? "; leader-lost, never acknowledged" : ""})`;
}

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
      "Redis restored: linked → first 200 / → ingress backlog drained, s",
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
        `${total((r) => r.resyncs)}${rounds.some((r) => r.durability === "replica" && r.resyncsLeaderLost) ? ` (leader-lost, never acknowledged: ${total((r) => (r.resyncsLeaderLost ? r.resyncs : 0))})` : ""}`,
        `${total((r) => both(r, (p) => p.unanswered))} (${total((r) => both(r, (p) => p.neverAnswered))})`,
        total((r) => both(r, (p) => p.refused)),
        total((r) => r.primaryDeaths),
        total((r) => r.failedDrains),
        spread(rounds.map((r) => Math.max(r.http.longestAnswerMs, r.ingress.longestAnswerMs)), seconds),
        spread(rounds.map((r) => r.outageMs), seconds),
        rounds.some((r) => r.restored !== undefined)
          ? `${spread(rounds.map((r) => r.restored?.firstAcceptedMs ?? Number.NaN), seconds)} / ${spread(rounds.map((r) => r.restored?.backlogDrainedMs ?? Number.NaN), seconds)}`
          : "-",
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
      "Redis restored: restart → replica linked / linked → first 200 / linked → ingress backlog drained, s",
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
      resyncCell(r),
      restoredCell(r),
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
