import { EventEmitter } from "node:events";
import type { TestContext } from "node:test";
import { Redis } from "ioredis";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { masterAddress, withAdmin } from "../../src/redis-client/sentinel-commands.js";
import { viewProblems } from "../../src/redis-client/sentinel-view.js";
import { dataNodeConf, launchNode, relaunchNode, type RedisNode } from "./redis-process.js";
import { makeTempDir, removeTempDir } from "./scratch.js";

export type { RedisNode } from "./redis-process.js";

export interface SentinelTopology {
  /** Master name, "mymaster". */
  name: string;
  /** [0] = initial master, then the replicas. */
  redis: RedisNode[];
  /** 3 */
  sentinels: RedisNode[];
  /** "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3" (value for PUSHER_REDIS_SENTINELS) */
  sentinelList: string;
  /** Where every node's conf and log are (`redis-<port>.log`, `sentinel-<port>.log`), until close(). */
  dir: string;
  /** The master as the sentinels currently report it (SENTINEL GET-MASTER-ADDR-BY-NAME, first that answers). */
  currentMaster(): Promise<RedisNode>;
  /** Arm BEFORE injecting a fault: resolves on the next +switch-master seen on any sentinel's pub/sub, with Date.now() at receipt. */
  nextSwitchMaster(timeoutMs?: number): Promise<{ from: string; to: string; at: number }>;
  /** Every master change announced since the topology started, each once (at its first announcement). */
  switchesSeen(): Array<{ from: string; to: string; at: number }>;
  /**
   * Starts a killed data node again on its port, empty, in its place in `redis`; resolves once it
   * answers. Sentinel, which still lists it, reconfigures it as a replica of the current master.
   */
  restart(node: RedisNode): Promise<RedisNode>;
  /** Resolves once `node` is a replica with its link to the master up (INFO replication). */
  untilLinkedReplica(node: RedisNode, timeoutMs: number): Promise<void>;
  /** Kills every process it started (by pid) and removes the temp dir. */
  close(): Promise<void>;
}

export interface TopologyOptions {
  /** Replicas of the initial master (default 2). */
  replicas?: number;
  /** Sentinel down-after-milliseconds (default 1000). */
  downAfterMs?: number;
  /** Sentinel failover-timeout (default 10000). */
  failoverTimeoutMs?: number;
}

const MASTER_NAME = "mymaster";
const SENTINELS = 3;
const QUORUM = 2;
// Sentinels learn replicas from the master's INFO, fetched every 10 s: a loaded machine can need more than that.
const READY_TIMEOUT_MS = 20_000;

/** One standalone redis-server without persistence; with `t`, closed after the test. */
export async function startRedis(t?: TestContext): Promise<RedisNode> {
  const dir = await makeTempDir();
  const node = await launchNode(dir, "redis", dataNodeConf());
  t?.after(async () => {
    await node.kill();
    await removeTempDir(dir);
  });
  return node;
}

function sentinelConf(masterPort: number, options: TopologyOptions): string[] {
  return [
    "sentinel resolve-hostnames no",
    `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} ${QUORUM}`,
    `sentinel down-after-milliseconds ${MASTER_NAME} ${options.downAfterMs ?? 1000}`,
    `sentinel failover-timeout ${MASTER_NAME} ${options.failoverTimeoutMs ?? 10_000}`,
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
  ];
}

/** Starts `count` nodes at once, each added to `into` as it starts, so close() kills it even when another failed. */
async function launchAll(into: RedisNode[], count: number, launch: () => Promise<RedisNode>): Promise<void> {
  const results = await Promise.allSettled(Array.from({ length: count }, () => launch().then((node) => void into.push(node))));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

async function waitForReplicaLinks(replicas: RedisNode[], timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  await retryUntil(
    async () => {
      for (const replica of replicas) {
        const info = await withAdmin(replica.address, "", (client) => client.info("replication"));
        if (!info.includes("master_link_status:up")) throw new Error(`replica ${replica.address} has not linked to its master`);
      }
    },
    { timeoutMs, intervalMs: 20 },
  );
}

/** Every sentinel seeing all replicas linked and its 2 fellows, and CKQUORUM OK. */
async function waitForSentinels(redis: RedisNode[], sentinels: RedisNode[]): Promise<void> {
  const replicas = redis.slice(1).map((node) => node.address);
  await retryUntil(
    async () => {
      for (const sentinel of sentinels) {
        const others = sentinels.filter((s) => s !== sentinel).map((s) => s.address);
        const problems = await withAdmin(sentinel.address, "", (client) => viewProblems(client, MASTER_NAME, { replicas, sentinels: others }));
        if (problems.length > 0) throw new Error(`sentinel ${sentinel.address}: ${problems.join("; ")}`);
      }
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50 },
  );
}

/** A subscription to +switch-master on every sentinel, re-emitted as one "switch" event. */
async function watchSwitches(sentinels: RedisNode[]): Promise<{ events: EventEmitter; close(): void }> {
  const events = new EventEmitter();
  const clients = sentinels.map((s) => {
    // Keeps retrying while a test has this sentinel killed or stopped; errors are expected then.
    const client = new Redis({ host: s.host, port: s.port, retryStrategy: () => 100, maxRetriesPerRequest: null });
    client.on("error", () => undefined);
    client.on("message", (_channel: string, message: string) => {
      // "<name> <old ip> <old port> <new ip> <new port>"
      const [, fromHost, fromPort, toHost, toPort] = message.split(" ");
      events.emit("switch", { from: `${fromHost}:${fromPort}`, to: `${toHost}:${toPort}`, at: Date.now() });
    });
    return client;
  });
  const close = (): void => clients.forEach((client) => client.disconnect());
  try {
    await Promise.all(clients.map((client) => client.subscribe("+switch-master")));
  } catch (err) {
    close();
    throw err;
  }
  return { events, close };
}

/**
 * A master, its replicas and 3 sentinels (quorum 2) on free loopback ports, resolved only once the
 * topology is really ready; with `t`, closed after the test.
 */
export async function startSentinelTopology(t?: TestContext, options: TopologyOptions = {}): Promise<SentinelTopology> {
  const dir = await makeTempDir();
  const redis: RedisNode[] = [];
  const sentinels: RedisNode[] = [];
  let switches: { events: EventEmitter; close(): void } | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      switches?.close();
      await Promise.all([...redis, ...sentinels].map((node) => node.kill()));
      await removeTempDir(dir);
    })());
  t?.after(close);

  try {
    const master = await launchNode(dir, "redis", dataNodeConf());
    redis.push(master);
    await launchAll(redis, options.replicas ?? 2, () => launchNode(dir, "redis", dataNodeConf()));
    // REPLICAOF links at once; `replicaof` in the conf waits for the once-a-second replication cron.
    await Promise.all(redis.slice(1).map((replica) => withAdmin(replica.address, "", (client) => client.replicaof(master.host, String(master.port)))));
    // Sentinels INFO an instance every 10 s only: started before the replicas are linked, they
    // would list them late or as down. So the replicas link first.
    await waitForReplicaLinks(redis.slice(1));
    await launchAll(sentinels, SENTINELS, () => launchNode(dir, "sentinel", sentinelConf(master.port, options)));
    await waitForSentinels(redis, sentinels);
    switches = await watchSwitches(sentinels);
  } catch (err) {
    await close();
    throw err;
  }
  const events = switches.events;
  // Every sentinel announces each switch: the first announcement stands for it.
  const seen: Array<{ from: string; to: string; at: number }> = [];
  events.on("switch", (event: { from: string; to: string; at: number }) => {
    if (!seen.some((s) => s.from === event.from && s.to === event.to)) seen.push(event);
  });

  return {
    name: MASTER_NAME,
    redis,
    sentinels,
    sentinelList: sentinels.map((s) => s.address).join(","),
    dir,
    async currentMaster() {
      const errors: string[] = [];
      for (const sentinel of sentinels) {
        try {
          const address = await withAdmin(sentinel.address, "", (client) => masterAddress(client, MASTER_NAME));
          const node = redis.find((n) => n.address === address);
          if (node === undefined) throw new Error(`reports master ${address}, which is none of ours`);
          return node;
        } catch (err) {
          errors.push(`${sentinel.address}: ${(err as Error).message}`);
        }
      }
      throw new Error(`no sentinel reported the master: ${errors.join("; ")}`);
    },
    nextSwitchMaster(timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const onSwitch = (event: { from: string; to: string; at: number }): void => {
          clearTimeout(timer);
          resolve(event);
        };
        const timer = setTimeout(() => {
          events.off("switch", onSwitch);
          reject(new Error(`no +switch-master within ${timeoutMs} ms`));
        }, timeoutMs);
        events.once("switch", onSwitch);
      });
    },
    switchesSeen: () => [...seen],
    async restart(node) {
      const index = redis.findIndex((n) => n.address === node.address);
      if (index < 0) throw new Error(`${node.address} is not a data node of this topology`);
      await node.kill();
      const again = await relaunchNode(dir, "redis", node, dataNodeConf());
      redis[index] = again;
      return again;
    },
    untilLinkedReplica: (node, timeoutMs) => waitForReplicaLinks([node], timeoutMs),
    close,
  };
}
