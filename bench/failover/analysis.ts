/** Turns one round's observations into the failover figures: what was lost, and for how long. */
import type { PublishRecord } from "./publisher.js";
import type { RoundObservation } from "./round.js";

export interface FailoverResult {
  server: string;
  round: number;
  subscribers: number;
  published: number;
  acknowledged: number;
  publishErrors: number;
  /** "HTTP 503 × 12, TimeoutError × 3", or "" when there were none. */
  errorKinds: string;
  /** Distinct acknowledged messages that at least one subscriber never received. */
  lost: number;
  /** (subscriber, acknowledged message) pairs never received. */
  missedDeliveries: number;
  duplicates: number;
  resyncs: number;
  disconnects: number;
  /** Fault → Sentinel's +switch-master; NaN if none came. */
  switchMs: number;
  /** Fault → the first delivery, at any subscriber, of a message published after the fault. */
  outageMs: number;
  /** The same, counting only deliveries to a subscriber on another host than the publish went to. */
  crossHostOutageMs: number;
  /** +switch-master → the first 200 received after it. */
  firstAckAfterSwitchMs: number;
  /** +switch-master → the first 200 for a publish issued after the fault. */
  firstPostFaultAckMs: number;
  /** The longest a publish waited for its answer. */
  longestAnswerMs: number;
  machineBusy: number;
  notes: string[];
}

function earliest(values: Iterable<number>): number {
  let min = Number.POSITIVE_INFINITY;
  for (const v of values) if (v < min) min = v;
  return min;
}

/** NaN rather than Infinity when nothing qualified, so the tables say "n/a". */
function since(from: number, at: number): number {
  return Number.isFinite(at) && Number.isFinite(from) ? at - from : Number.NaN;
}

const LOST_SAMPLES = 3;
const DUPLICATE_SAMPLES = 2;

/** "#seq (to host h, issued +0.41 s, answered +2.71 s after the fault; missed by 50 on host 1)": what a bug report needs. */
function describeLost(o: RoundObservation, seqs: number[]): string {
  const bySeq = new Map(o.publishes.map((p) => [p.seq, p]));
  const relative = (at: number): string => `${at >= o.faultAt ? "+" : ""}${((at - o.faultAt) / 1000).toFixed(2)} s`;
  return seqs
    .map((seq) => {
      const p = bySeq.get(seq)!;
      const missers = o.reports.flatMap((r, host) => r.lost.filter(([s]) => s === seq).map(([, by]) => `${by} on host ${host}`));
      return `#${seq} (to host ${p.host}, issued ${relative(p.issuedAt)}, answered ${relative(p.answeredAt)} after the fault; missed by ${missers.join(", ")})`;
    })
    .join("; ");
}

function errorKinds(publishes: PublishRecord[]): string {
  const counts = new Map<string, number>();
  for (const p of publishes) if (p.error !== undefined) counts.set(p.error, (counts.get(p.error) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${kind} × ${n}`).join(", ");
}

/** Fault → first arrival of a post-fault message, over the hosts' subscribers that `counts` admits. */
function outage(o: RoundObservation, counts: (subscriberHost: number, publishHost: number) => boolean): number {
  const postFault = new Map(o.publishes.filter((p) => p.issuedAt > o.faultAt).map((p) => [p.seq, p.host]));
  const arrivals = o.reports.flatMap((report, host) =>
    report.firstArrival.filter(([seq]) => postFault.has(seq) && counts(host, postFault.get(seq)!)).map(([, at]) => at),
  );
  return since(o.faultAt, earliest(arrivals));
}

export function analyse(o: RoundObservation, round: number): FailoverResult {
  const acked = o.publishes.filter((p) => p.acked);
  const switchAt = o.switchMaster?.at ?? Number.NaN;
  const lost = new Set(o.reports.flatMap((r) => r.lost.map(([seq]) => seq)));
  const sum = (f: (r: RoundObservation["reports"][number]) => number): number => o.reports.reduce((total, r) => total + f(r), 0);
  const delivered = new Set(o.reports.flatMap((r) => r.firstArrival.map(([seq]) => seq)));

  const notes: string[] = [];
  if (o.subscribeError !== undefined) notes.push(`subscribe: ${o.subscribeError}`);
  const failedButDelivered = o.publishes.filter((p) => !p.acked && delivered.has(p.seq)).length;
  if (failedButDelivered > 0) notes.push(`${failedButDelivered} failed publishes were delivered anyway`);
  const firstReportError = o.reports.find((r) => r.firstError !== undefined)?.firstError;
  if (firstReportError !== undefined && firstReportError !== o.subscribeError) notes.push(`subscriber error: ${firstReportError}`);
  if (lost.size > 0) notes.push(`lost, e.g. ${describeLost(o, [...lost].sort((a, b) => a - b).slice(0, LOST_SAMPLES))}`);
  const duplicateSamples = o.reports.flatMap((r) => r.duplicateSamples);
  if (duplicateSamples.length > 0) notes.push(`duplicates, e.g. ${duplicateSamples.slice(0, DUPLICATE_SAMPLES).join("; ")}`);
  const firstResync = o.reports.find((r) => r.firstResync !== undefined)?.firstResync;
  if (firstResync !== undefined) notes.push(`resync, e.g. ${firstResync}`);
  if (o.switchMaster === undefined) notes.push("no +switch-master");
  else notes.push(`new master ${o.switchMaster.to}`);

  return {
    server: o.server,
    round,
    subscribers: o.subscribed.reduce((a, b) => a + b, 0),
    published: o.publishes.length,
    acknowledged: acked.length,
    publishErrors: o.publishes.length - acked.length,
    errorKinds: errorKinds(o.publishes),
    lost: lost.size,
    missedDeliveries: sum((r) => r.missedDeliveries),
    duplicates: sum((r) => r.duplicates),
    resyncs: sum((r) => r.resyncs),
    disconnects: sum((r) => r.disconnects),
    switchMs: since(o.faultAt, switchAt),
    outageMs: outage(o, () => true),
    crossHostOutageMs: outage(o, (subscriberHost, publishHost) => subscriberHost !== publishHost),
    firstAckAfterSwitchMs: since(switchAt, earliest(acked.filter((p) => p.answeredAt >= switchAt).map((p) => p.answeredAt))),
    firstPostFaultAckMs: since(switchAt, earliest(acked.filter((p) => p.issuedAt > o.faultAt).map((p) => p.answeredAt))),
    longestAnswerMs: Math.max(0, ...o.publishes.map((p) => p.answeredAt - p.issuedAt)),
    machineBusy: o.machineBusy,
    notes,
  };
}
