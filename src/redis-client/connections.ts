import os from "node:os";
import { Redis, type RedisOptions } from "ioredis";
import type { PusherConfig } from "../config/schema.js";
import type { Logger } from "../ops/logger.js";

export type RedisSettings = PusherConfig["redis"];

/**
 * Reconnect delays stay this short: ioredis's default backoff (50, 100, 200, 400, 800 ms...) was
 * measured delaying the first publish after +switch-master by 1.3–1.7 s (DESIGN §7).
 */
const RETRY_DELAY_CAP_MS = 100;

/** "host:port" → the address ioredis takes; the config format already checked the shape. */
export function parseAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ""), port: Number(address.slice(at + 1)) };
}

function commonOptions(settings: RedisSettings, role: string): RedisOptions {
  return {
    connectionName: `pusher-${role}-${os.hostname()}-${process.pid}`,
    // Long-lived clients: a command must wait out a failover, not reject after ~20 retries into an
    // unhandled rejection (DESIGN §7).
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(10 * 2 ** attempt, RETRY_DELAY_CAP_MS),
    // A demoted master answers READONLY: reconnect, and Sentinel gives us the new master.
    reconnectOnError: (err) => (err.message.startsWith("READONLY") ? 2 : false),
    ...(settings.password ? { password: settings.password } : {}),
  };
}

/**
 * An ioredis client for the configured mode with the settings DESIGN §7 asks for. Every client
 * gets an 'error' listener; reconnect errors repeat every retry, so only the first of an outage is logged.
 */
export function createRedisClient(settings: RedisSettings, role: string, logger: Logger, extra: RedisOptions = {}): Redis {
  const options = { ...commonOptions(settings, role), ...extra };
  const client =
    settings.mode === "sentinel"
      ? new Redis({
          ...options,
          sentinels: settings.sentinels.map(parseAddress),
          name: settings.name,
          ...(settings.sentinelPassword ? { sentinelPassword: settings.sentinelPassword } : {}),
          // Without it a hung (SIGSTOPped) master hangs every client until TCP gives up (ioredis#1314).
          failoverDetector: true,
          sentinelRetryStrategy: (attempt) => Math.min(100 * attempt, 1000),
        })
      : new Redis(settings.url, options);
  client.on("end", () => {
    if (released.has(client)) return;
    // ioredis 6's failover detector can disconnect a client while it is already reconnecting; the
    // aborted attempt then ends the client for good. A long-lived client must not stay dead.
    logger.warn({ connection: role }, "redis client ended during a reconnect; starting it again");
    setTimeout(() => client.connect().catch(() => undefined), RETRY_DELAY_CAP_MS);
  });
  let failing = false;
  client.on("error", (err: Error) => {
    if (failing) return;
    failing = true;
    logger.warn({ err: err.message, connection: role }, "redis connection lost; reconnecting");
  });
  client.on("ready", () => {
    if (failing) logger.info({ connection: role }, "redis connection ready again");
    failing = false;
  });
  return client;
}

/**
 * ioredis options for a long-lived connection whose commands the caller retries itself (the
 * broker, the channel state, the ingress): nothing is resent behind its back after a reconnect,
 * and a server silent past redis.commandTimeoutMs (plus the block time of a blocking read) is dropped.
 */
export function retriedByCaller(settings: RedisSettings, blockMs = 0): RedisOptions {
  return { autoResendUnfulfilledCommands: false, socketTimeout: settings.commandTimeoutMs + blockMs };
}

/**
 * ioredis options for a connection whose every command must reach the server it was issued to, or
 * fail: a command in flight when the connection closes is not resent, and one issued while the
 * socket is closing (its peer gone, Node not yet done with it) is not queued for the next
 * connection. Either would run on whatever server that connection reaches, before its owner has
 * checked it: a publish on a new master that lost writes, before the gate that keeps it from
 * reusing their offsets (docs/architecture.md, "Lost writes never reuse offsets silently").
 */
export const SENT_WHERE_ISSUED = { autoResendUnfulfilledCommands: false, enableOfflineQueue: false } as const satisfies RedisOptions;

/** Throws unless `client` was created with SENT_WHERE_ISSUED. */
export function assertSentWhereIssued(client: Redis, role: string): void {
  const { autoResendUnfulfilledCommands, enableOfflineQueue } = client.options;
  if (autoResendUnfulfilledCommands || enableOfflineQueue) throw new Error(`the ${role} connection must be created with SENT_WHERE_ISSUED: it may not resend or queue commands for the next connection`);
}

/** "host:port" of the server the client's socket reached, if it is connected. */
export function serverAddress(client: Redis): string | undefined {
  const stream = client.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  return stream?.remoteAddress ? `${stream.remoteAddress}:${stream.remotePort}` : undefined;
}

const released = new WeakSet<Redis>();

/** Closes a client for good (disconnect, not quit: ioredis#1362); only this stops it restarting. */
export function releaseRedisClient(client: Redis): void {
  released.add(client);
  client.disconnect();
}
