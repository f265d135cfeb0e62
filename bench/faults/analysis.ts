/** Turns one fault round's observations into its figures, and judges them against the target. */
import type { FaultPublish, PublishPath } from "./publishers.js";
import type { FaultObservation } from "./round.js";

export interface PathFigures {
  published: number;
  acknowledged: number;
  /** Answered, but not with a 200 (503 and the like): the publisher was told. */
  refused: number;
  /** No answer within publish.timeoutMs + margin. */
  unanswered: number;
  /** Of those, none at all (HTTP: within `abandonAfterMs`). */
  neverAnswered: number;
  /** Distinct acknowledged messages some subscriber never received and was not told about. */
  silentLost: number;
  /** Distinct acknowledged messages some subscriber missed, every such subscriber told (resync). */
  toldLost: number;
  longestAnswerMs: number;
}

export interface FaultResult {
  fault: string;
  round: number;
  durability: string;
  subscribers: number;
  connectionsPerHost: number[];
  http: PathFigures;
  ingress: PathFigures;
  /** (subscriber, acknowledged message) pairs never received, and of them the silent ones. */
  missedDeliveries: number;
  silentMisses: number;
  duplicates: number;
  resyncs: number;
  resyncReasons: string;
  /**
   * The resyncs are for writes lost with the Redis leader, which the target allows: at `leader`,
   * any in a master fault; at `replica`, `epoch_changed` ones in a master fault that lost no
   * acknowledged message (the lost writes were fanned out by the old master, never acknowledged).
   */
  resyncsLeaderLost: boolean;
  /** Killed Redis servers restored by the fault: times from the first linked replica, in ms. */
  restored?: RestoredFigures;
  disconnects: number;
  /** Primaries that exited unasked. */
  primaryDeaths: number;
  /** Drains (SIGTERM) that ended in a non-zero exit: the deadline overran, or a crash while draining. */
  failedDrains: number;
  workerDeaths: number;
  /** The longest any subscriber went without a delivery. */
  outageMs: number;
  machineBusy: number;
  steps: string[];
  /** Target broken, in words; empty when met. */
  misses: string[];
  notes: string[];
}

export interface RestoredFigures {
  /** From the first restart to the first linked replica; undefined if none linked. */
  linkedAfterMs?: number;
  /** To the first HTTP 200 answered after the restart (before the link was seen: negative). */
  firstAcceptedMs?: number;
  /** To pusher's ingress group having published every entry. */
  backlogDrainedMs?: number;
}

/** Faults that lose Redis writes: at `leader` durability their resyncs are the expected, told loss. */
const MASTER_FAULTS = new Set(["master-kill", "double-failover"]);
const SAMPLES = 3;

function pathFigures(publishes: FaultPublish[], path: PublishPath, missed: Set<number>, silent: Set<number>): PathFigures {
  const mine = publishes.filter((p) => p.path === path);
  const acked = mine.filter((p) => p.acked);
  return {
    published: mine.length,
    acknowledged: acked.length,
    refused: mine.filter((p) => !p.acked && !p.unanswered).length,
    unanswered: mine.filter((p) => p.unanswered).length,
    neverAnswered: mine.filter((p) => p.neverAnswered).length,
    silentLost: acked.filter((p) => silent.has(p.seq)).length,
    toldLost: acked.filter((p) => missed.has(p.seq) && !silent.has(p.seq)).length,
    longestAnswerMs: Math.max(0, ...mine.map((p) => p.answeredAt - p.issuedAt)),
  };
}

function errorKinds(publishes: FaultPublish[]): string {
  const counts = new Map<string, number>();
  for (const p of publishes) if (p.error !== undefined) counts.set(`${p.path} ${p.error}`, (counts.get(`${p.path} ${p.error}`) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${kind} × ${n}`).join(", ");
}

/** "#12 (http to fault-4 at e:41, issued +0.31 s, answered +2.10 s)": what a bug report needs. */
function describeSeqs(o: FaultObservation, seqs: number[]): string {
  const bySeq = new Map(o.publishes.map((p) => [p.seq, p]));
  const relative = (at: number): string => `${at >= o.faultAt ? "+" : ""}${((at - o.faultAt) / 1000).toFixed(2)} s`;
  return seqs
    .slice(0, SAMPLES)
    .map((seq) => {
      const p = bySeq.get(seq)!;
      const at = p.epoch !== undefined ? ` at ${p.epoch}:${p.offset}` : "";
      return `#${seq} (${p.path} to ${p.channel}${at}, issued ${relative(p.issuedAt)}, answered ${relative(p.answeredAt)})`;
    })
    .join("; ");
}

/**
 * Whether a round's resyncs are for writes lost with the Redis leader (the target allows those).
 * At `replica` a resync is the old master's fan-out of writes it had not replicated: their
 * publishes were never acknowledged, so none of them may be an acknowledged message some
 * subscriber missed, and no restarted (empty) server may have been promoted. What the bench cannot see otherwise: an acknowledged write lost from Redis that every
 * subscriber had already received live (pusher's log does not name the head the master had).
 */
function leaderLost(o: FaultObservation, reasons: Map<string, number>, ackedLost: number): boolean {
  if (!MASTER_FAULTS.has(o.fault)) return false;
  if (o.durability === "leader") return true;
  // A restarted, empty server promoted lost every write, acknowledged ones too, even if every
  // subscriber had them already: its resyncs are no leader-lost writes.
  if (o.restored?.emptyPromoted !== undefined) return false;
  return ackedLost === 0 && [...reasons.keys()].every((reason) => reason === "epoch_changed");
}

function restoredFigures(o: FaultObservation): RestoredFigures {
  const { startedAt, linkedAt, backlogDrainedAt } = o.restored!;
  const accepted = o.publishes.filter((p) => p.path === "http" && p.acked && p.answeredAt >= startedAt).map((p) => p.answeredAt);
  if (linkedAt === undefined) return {};
  return {
    linkedAfterMs: linkedAt - startedAt,
    ...(accepted.length > 0 ? { firstAcceptedMs: Math.min(...accepted) - linkedAt } : {}),
    ...(backlogDrainedAt !== undefined ? { backlogDrainedMs: backlogDrainedAt - linkedAt } : {}),
  };
}

export function analyse(o: FaultObservation): FaultResult {
  const missed = new Set(o.reports.flatMap((r) => r.lost.map(([seq]) => seq)));
  const silent = new Set(o.reports.flatMap((r) => r.silentLost));
  const sum = (f: (r: FaultObservation["reports"][number]) => number): number => o.reports.reduce((total, r) => total + f(r), 0);
  const reasons = new Map<string, number>();
  for (const r of o.reports) for (const [reason, n] of Object.entries(r.resyncReasons)) reasons.set(reason, (reasons.get(reason) ?? 0) + n);
  const http = pathFigures(o.publishes, "http", missed, silent);
  const ingress = pathFigures(o.publishes, "ingress", missed, silent);
  const resyncs = sum((r) => r.resyncs);
  const duplicates = sum((r) => r.duplicates);
  const subscribers = o.subscribed.reduce((a, b) => a + b, 0);

  const misses: string[] = [];
  const silentLost = http.silentLost + ingress.silentLost;
  if (silentLost > 0) misses.push(`${silentLost} silently lost`);
  if (duplicates > 0) misses.push(`${duplicates} duplicates`);
  if (http.unanswered + ingress.unanswered > 0) misses.push(`${http.unanswered + ingress.unanswered} unanswered`);
  const deaths = o.primaryDeaths.filter((d) => d.when === "unasked").length;
  const failedDrains = o.primaryDeaths.length - deaths;
  if (deaths > 0) misses.push(`${deaths} primary deaths`);
  if (failedDrains > 0) misses.push(`${failedDrains} failed drains`);
  const ackedLost = http.toldLost + ingress.toldLost + silentLost;
  if (o.durability === "replica" && http.toldLost + ingress.toldLost > 0) misses.push("loss at replica durability");
  const resyncsLeaderLost = resyncs > 0 && leaderLost(o, reasons, ackedLost);
  if (resyncs > 0 && !resyncsLeaderLost) misses.push(`${resyncs} resyncs`);
  const restored = o.restored !== undefined ? restoredFigures(o) : undefined;
  if (o.restored?.emptyPromoted !== undefined) misses.push(`empty ${o.restored.emptyPromoted} promoted: Redis history lost`);
  if (restored !== undefined) {
    if (restored.linkedAfterMs === undefined) misses.push("no restored Redis server became a replica");
    else {
      if (restored.firstAcceptedMs === undefined) misses.push("publishing not accepted after a replica returned");
      if (restored.backlogDrainedMs === undefined) misses.push("ingress backlog not drained");
    }
  }

  const notes: string[] = [];
  if (subscribers < o.plannedSubscribers) misses.push(`${o.plannedSubscribers - subscribers} subscribers never subscribed`);
  if (o.subscribeError !== undefined) notes.push(`subscribe: ${o.subscribeError}`);
  const kinds = errorKinds(o.publishes);
  if (kinds !== "") notes.push(`errors: ${kinds}`);
  const unanswered = o.publishes.filter((p) => p.unanswered).map((p) => p.seq);
  if (unanswered.length > 0) notes.push(`unanswered, e.g. ${describeSeqs(o, unanswered)}`);
  if (silent.size > 0) notes.push(`silently lost, e.g. ${describeSeqs(o, [...silent].sort((a, b) => a - b))}`);
  const told = [...missed].filter((seq) => !silent.has(seq)).sort((a, b) => a - b);
  if (told.length > 0) notes.push(`lost and told, e.g. ${describeSeqs(o, told)}`);
  const duplicateSamples = o.reports.flatMap((r) => r.duplicateSamples);
  if (duplicateSamples.length > 0) notes.push(`duplicates, e.g. ${duplicateSamples.slice(0, SAMPLES).join("; ")}`);
  const notConnected = sum((r) => r.notConnected);
  if (notConnected > 0) notes.push(`${notConnected} subscribers not connected at the end (still reconnecting)`);
  const worst = o.reports.flatMap((r) => r.worstMissers);
  if (worst.length > 0) notes.push(`most missed: ${worst.slice(0, SAMPLES).join("; ")}`);
  const firstResync = o.reports.find((r) => r.firstResync !== undefined)?.firstResync;
  if (firstResync !== undefined) notes.push(`resync, e.g. ${firstResync}`);
  for (const death of o.primaryDeaths) notes.push(`primary of host ${death.host} (pid ${death.pid}) exited ${death.code} ${death.when}: ${death.lastWords}`);
  const firstError = o.reports.find((r) => r.firstError !== undefined)?.firstError;
  if (firstError !== undefined && firstError !== o.subscribeError) notes.push(`subscriber error: ${firstError}`);

  return {
    fault: o.fault,
    round: o.round,
    durability: o.durability,
    subscribers,
    connectionsPerHost: o.connectionsPerHost,
    http,
    ingress,
    missedDeliveries: sum((r) => r.missedDeliveries),
    silentMisses: sum((r) => r.silentMisses),
    duplicates,
    resyncs,
    resyncReasons: [...reasons].map(([reason, n]) => `${reason} ${n}`).join(", "),
    resyncsLeaderLost,
    ...(restored !== undefined ? { restored } : {}),
    disconnects: sum((r) => r.disconnects),
    primaryDeaths: deaths,
    failedDrains,
    workerDeaths: o.workerDeaths,
    outageMs: Math.max(0, ...o.reports.map((r) => r.longestGapMs)),
    machineBusy: o.machineBusy,
    steps: o.steps,
    misses,
    notes,
  };
}

const noPath: PathFigures = { published: 0, acknowledged: 0, refused: 0, unanswered: 0, neverAnswered: 0, silentLost: 0, toldLost: 0, longestAnswerMs: Number.NaN };

/** A round that could not run to its end (the fleet did not start, a step threw): it misses the target. */
export function failedRound(fault: string, round: number, durability: string, err: unknown): FaultResult {
  const message = err instanceof Error ? err.message : String(err);
  return {
    fault,
    round,
    durability,
    subscribers: 0,
    connectionsPerHost: [],
    http: noPath,
    ingress: noPath,
    missedDeliveries: 0,
    silentMisses: 0,
    duplicates: 0,
    resyncs: 0,
    resyncReasons: "",
    resyncsLeaderLost: false,
    disconnects: 0,
    primaryDeaths: 0,
    failedDrains: 0,
    workerDeaths: 0,
    outageMs: Number.NaN,
    machineBusy: Number.NaN,
    steps: [],
    misses: ["round failed"],
    notes: [message.split("\n")[0]!.slice(0, 300)],
  };
}
