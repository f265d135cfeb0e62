import type { SentinelReport, SentinelStatus } from "../redis-client/sentinel-admin.js";
import { isHealthy, type InstanceView } from "../redis-client/sentinel-commands.js";

function masterLine(status: SentinelStatus): string {
  const answered = status.sentinels.filter((s) => s.reachable);
  if (answered.length === 0) return `master "${status.name}": unknown (no sentinel answered)`;
  const shown = status.master ?? "none (not monitored under this name)";
  if (status.agreed) return `master "${status.name}": ${shown} (all ${answered.length} sentinels that answered agree)`;
  const others = answered.filter((s) => s.master !== status.master).map((s) => `${s.address} says ${s.master ?? "none"}`);
  return `master "${status.name}": ${shown}, but the sentinels DISAGREE: ${others.join(", ")}`;
}

function quorumLine(status: SentinelStatus): string {
  if (status.quorumOk) return "quorum: OK on every sentinel that answered";
  const failing = status.sentinels.flatMap((s) => (s.reachable && !s.quorum.ok ? [`${s.address}: ${s.quorum.message}`] : []));
  return `quorum: NOT OK${failing.length > 0 ? ` (${failing.join("; ")})` : " (no sentinel answered)"}`;
}

function sentinelLine(report: SentinelReport): string {
  if (!report.reachable) return `  ${report.address}  UNREACHABLE: ${report.error}`;
  const down = (views: InstanceView[]): number => views.filter((v) => !isHealthy(v)).length;
  return (
    `  ${report.address}  master ${report.master ?? "none"}, ` +
    `${report.replicas.length} replicas (${down(report.replicas)} down), ` +
    `${report.sentinels.length} other sentinels (${down(report.sentinels)} down), ${report.quorum.message}`
  );
}

/** `pusher sentinel status` for a person: master, quorum, replicas, then each sentinel. */
export function statusText(status: SentinelStatus): string {
  const lines = [masterLine(status), quorumLine(status)];
  // The replica list of one sentinel that names the agreed master: the others' may differ only while stale.
  const witness = status.sentinels.find((s) => s.reachable && s.master === status.master && s.master !== null);
  if (witness?.reachable) {
    lines.push(`replicas (as ${witness.address} sees them):`);
    if (witness.replicas.length === 0) lines.push("  none");
    for (const replica of witness.replicas) lines.push(`  ${replica.address}  ${replica.flags.join(",")}  master link ${replica.masterLinkStatus}`);
  }
  lines.push("sentinels:", ...status.sentinels.map(sentinelLine));
  return lines.join("\n");
}
