import { Redis } from "ioredis";
import { parseAddress } from "./connections.js";

// An admin command must fail fast on a dead or hung (SIGSTOPped) node instead of waiting on it.
const ADMIN_TIMEOUT_MS = 2000;

// disconnect() on a socket that has already closed arms a 2 s timer that would keep a CLI alive.
function closeAdmin(client: Redis): void {
  if (client.status !== "end") client.disconnect();
}

/**
 * A connection for a few admin commands: one attempt, no reconnects, no offline queue. Rejects
 * with the reason the server or the socket gave (not ioredis's "Connection is closed").
 */
async function connectAdmin(address: string, password: string): Promise<Redis> {
  const { host, port } = parseAddress(address);
  const client = new Redis({
    host,
    port,
    password: password === "" ? undefined : password,
    lazyConnect: true,
    connectTimeout: ADMIN_TIMEOUT_MS,
    commandTimeout: ADMIN_TIMEOUT_MS,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
  });
  let lastError: Error | undefined;
  client.on("error", (err: Error) => {
    lastError = err;
  });
  try {
    await client.connect();
  } catch (err) {
    closeAdmin(client);
    throw lastError ?? err;
  }
  return client;
}

/** Runs `use` on a fresh admin connection to `address` and always closes it. */
export async function withAdmin<T>(address: string, password: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = await connectAdmin(address, password);
  try {
    return await use(client);
  } finally {
    closeAdmin(client);
  }
}

/** True when the server refused our credentials (or wanted some), so the fix is a password. */
export function isAuthError(err: unknown): boolean {
  return /NOAUTH|WRONGPASS|invalid password/i.test((err as Error).message ?? "");
}

/** SENTINEL replies describe an instance as a flat [field, value, ...] list. */
function fields(flat: unknown): Map<string, string> {
  const list = flat as string[];
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) map.set(String(list[i]), String(list[i + 1]));
  return map;
}

function addressOf(instance: Map<string, string>): string {
  return `${instance.get("ip")}:${instance.get("port")}`;
}

function flagsOf(instance: Map<string, string>): string[] {
  return (instance.get("flags") ?? "").split(",").filter((flag) => flag !== "");
}

/** A replica or a fellow sentinel as one sentinel sees it. */
export interface InstanceView {
  address: string;
  /** Sentinel's flags: slave/sentinel, s_down, o_down, disconnected, ... */
  flags: string[];
}

export interface ReplicaView extends InstanceView {
  /** The replica's link to its master as it last reported it: "ok" or "err". */
  masterLinkStatus: string;
}

/** Neither down nor unreachable in this sentinel's eyes (what is not healthy, a reset forgets). */
export function isHealthy(view: InstanceView): boolean {
  return !view.flags.some((flag) => flag === "s_down" || flag === "o_down" || flag === "disconnected");
}

/** The master address this sentinel reports for `name`, or null when it does not monitor it. */
export async function masterAddress(sentinel: Redis, name: string): Promise<string | null> {
  const reply = (await sentinel.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)) as [string, string] | null;
  return reply === null ? null : `${reply[0]}:${reply[1]}`;
}

/** The master as one sentinel knows it: the config epoch of that knowledge (higher is newer), and its flags. */
export interface MasterView extends InstanceView {
  configEpoch: number;
}

export async function masterView(sentinel: Redis, name: string): Promise<MasterView> {
  const master = fields(await sentinel.call("SENTINEL", "MASTER", name));
  return { address: addressOf(master), flags: flagsOf(master), configEpoch: Number(master.get("config-epoch") ?? 0) };
}

export async function replicasOf(sentinel: Redis, name: string): Promise<ReplicaView[]> {
  const reply = (await sentinel.call("SENTINEL", "REPLICAS", name)) as unknown[];
  return reply.map(fields).map((r) => ({ address: addressOf(r), flags: flagsOf(r), masterLinkStatus: r.get("master-link-status") ?? "unknown" }));
}

/** The other sentinels this one knows for `name`. */
export async function sentinelsOf(sentinel: Redis, name: string): Promise<InstanceView[]> {
  const reply = (await sentinel.call("SENTINEL", "SENTINELS", name)) as unknown[];
  return reply.map(fields).map((s) => ({ address: addressOf(s), flags: flagsOf(s) }));
}

/** The master names this sentinel monitors. */
export async function monitoredNames(sentinel: Redis): Promise<string[]> {
  const reply = (await sentinel.call("SENTINEL", "MASTERS")) as unknown[];
  return reply.map(fields).map((m) => m.get("name") ?? "?");
}

export interface Quorum {
  ok: boolean;
  /** Sentinel's own words, e.g. "OK 3 usable Sentinels. Quorum and failover authorization can be reached". */
  message: string;
}

/** SENTINEL CKQUORUM: whether this sentinel could reach quorum and authorize a failover now. */
export async function checkQuorum(sentinel: Redis, name: string): Promise<Quorum> {
  try {
    return { ok: true, message: String(await sentinel.call("SENTINEL", "CKQUORUM", name)) };
  } catch (err) {
    // NOQUORUM (and an unknown name) arrive as error replies; a dead connection is not an answer.
    if ((err as Error).name !== "ReplyError") throw err;
    return { ok: false, message: (err as Error).message };
  }
}

/** The replicas a master has online now (INFO replication), as "ip:port". */
export async function onlineReplicas(master: Redis): Promise<string[]> {
  const info = await master.info("replication");
  const online: string[] = [];
  for (const line of info.split(/\r?\n/)) {
    const slave = /^slave\d+:(.*)$/.exec(line)?.[1];
    if (slave === undefined) continue;
    const field = new Map(slave.split(",").map((pair) => pair.split("=") as [string, string]));
    if (field.get("state") === "online") online.push(`${field.get("ip")}:${field.get("port")}`);
  }
  return online;
}
