import type { Redis } from "ioredis";
import { settingName } from "../config/doc.js";
import { ConfigError } from "../config/load.js";
import { parseAddress, type RedisSettings } from "./connections.js";
import {
  checkQuorum,
  isAuthError,
  masterAddress,
  monitoredNames,
  replicasOf,
  sentinelsOf,
  withAdmin,
  type InstanceView,
  type Quorum,
  type ReplicaView,
} from "./sentinel-commands.js";

function errorText(err: unknown): string {
  return (err as Error).message || String(err);
}

/** The configured sentinels; a ConfigError naming the setting when there are none. */
function sentinelAddresses(redis: RedisSettings): string[] {
  if (redis.sentinels.length === 0) throw new ConfigError(`${settingName("redis.sentinels")} is empty; list the sentinels as "host:port,host:port"`);
  return redis.sentinels;
}

type Answer<T> = { address: string; value: T } | { address: string; error: unknown };

/** Asks every configured sentinel at once over its own admin connection; one answer or error each. */
async function askEverySentinel<T>(redis: RedisSettings, ask: (client: Redis) => Promise<T>): Promise<Answer<T>[]> {
  return Promise.all(
    sentinelAddresses(redis).map(async (address): Promise<Answer<T>> => {
      try {
        return { address, value: await withAdmin(address, redis.sentinelPassword, ask) };
      } catch (error) {
        return { address, error };
      }
    }),
  );
}

/** What one sentinel says about the master it monitors as redis.name. */
export interface SentinelView {
  /** null when it monitors no master by that name. */
  master: string | null;
  replicas: ReplicaView[];
  /** The other sentinels it knows. */
  sentinels: InstanceView[];
  quorum: Quorum;
}

/** One sentinel's view, or why it gave none. */
export type SentinelReport = { address: string; reachable: false; error: string } | ({ address: string; reachable: true } & SentinelView);

export interface SentinelStatus {
  name: string;
  /** The master most reachable sentinels report (null when none reports one). */
  master: string | null;
  /** Every reachable sentinel reports that same master. */
  agreed: boolean;
  /** At least one sentinel answered, and every one that did says CKQUORUM OK. */
  quorumOk: boolean;
  sentinels: SentinelReport[];
}

async function viewOf(client: Redis, name: string): Promise<SentinelView> {
  const master = await masterAddress(client, name);
  // A sentinel that does not monitor `name` answers the other questions with errors.
  if (master === null) return { master, replicas: [], sentinels: [], quorum: await checkQuorum(client, name) };
  const [replicas, sentinels, quorum] = await Promise.all([replicasOf(client, name), sentinelsOf(client, name), checkQuorum(client, name)]);
  return { master, replicas, sentinels, quorum };
}

function mostReported(masters: (string | null)[]): string | null {
  const counts = new Map<string | null, number>();
  for (const master of masters) counts.set(master, (counts.get(master) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}

/** Every configured sentinel's view, asked at once: `pusher sentinel status`. */
export async function readSentinelStatus(redis: RedisSettings): Promise<SentinelStatus> {
  const answers = await askEverySentinel(redis, (client) => viewOf(client, redis.name));
  const sentinels = answers.map((a): SentinelReport => ("value" in a ? { address: a.address, reachable: true, ...a.value } : { address: a.address, reachable: false, error: errorText(a.error) }));
  const answered = sentinels.filter((s) => s.reachable);
  const master = mostReported(answered.map((s) => s.master));
  return {
    name: redis.name,
    master,
    agreed: answered.length > 0 && answered.every((s) => s.master === master),
    quorumOk: answered.length > 0 && answered.every((s) => s.quorum.ok),
    sentinels,
  };
}

/**
 * The master the sentinels name for `redis.name`; for the primary to check before it forks
 * workers. Throws a ConfigError that says what to change when no sentinel answers or none
 * monitors that name.
 */
export async function checkSentinelConfig(redis: RedisSettings): Promise<{ host: string; port: number }> {
  const answers = await askEverySentinel(redis, async (client) => {
    const master = await masterAddress(client, redis.name);
    return master === null ? { monitors: await monitoredNames(client) } : { master };
  });
  for (const answer of answers) if ("value" in answer && answer.value.master !== undefined) return parseAddress(answer.value.master);

  const monitoring = answers.flatMap((a) => ("value" in a && a.value.monitors !== undefined ? [{ address: a.address, names: a.value.monitors }] : []));
  if (monitoring.length > 0) {
    const names = [...new Set(monitoring.flatMap((a) => a.names))];
    const listed = names.length > 0 ? `they monitor ${names.map((n) => `"${n}"`).join(", ")}` : "they monitor no master at all";
    throw new ConfigError(
      `${settingName("redis.name")} is "${redis.name}", but no sentinel monitors a master by that name (${listed}; asked ${monitoring.map((a) => a.address).join(", ")}); set it to the name in the sentinels' "sentinel monitor" line`,
    );
  }
  const failures = answers.flatMap((a) => ("error" in a ? [a] : []));
  const tried = failures.map((a) => `${a.address} (${errorText(a.error)})`).join(", ");
  const hint = failures.some((a) => isAuthError(a.error))
    ? `a sentinel refused the password: set ${settingName("redis.sentinelPassword")} to the sentinels' requirepass`
    : "check the addresses and that the sentinels run";
  throw new ConfigError(`no sentinel in ${settingName("redis.sentinels")} answered: ${tried}; ${hint}`);
}
