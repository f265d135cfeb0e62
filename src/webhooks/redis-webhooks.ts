import { createHash } from "node:crypto";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import type { Registry } from "prom-client";
import type { PusherConfig } from "../config/schema.js";
import type { Logger } from "../ops/logger.js";
import { createRedisClient, releaseRedisClient } from "../redis-client/connections.js";
import { defineWebhookScripts } from "./redis-queue-scripts.js";
import { RedisQueue, type RedisQueueKeys } from "./redis-queue.js";
import { ThrottledWarning } from "./throttled-warning.js";
import { UrlSender } from "./url-sender.js";
import { webhookQueueKey } from "./webhook-events.js";
import { createWebhookMetrics } from "./webhook-metrics.js";

/** How long closing waits for the senders to give their leases up before it disconnects. */
const STOP_WAIT_MS = 1000;

/** Recorded events moved into the URLs' lists per distribution step. */
const MAX_MOVED = 1000;

/** A URL's keys: named by a hash of the URL, so every host that lists it agrees on them. */
export function webhookUrlKeys(keyPrefix: string, url: string): RedisQueueKeys {
  const id = createHash("sha256").update(url).digest("hex").slice(0, 16);
  return { list: `${keyPrefix}webhooks:url:${id}`, lease: `${keyPrefix}webhooks:lease:${id}`, dropped: `${keyPrefix}webhooks:dropped:${id}` };
}

/** Who holds a lease: this worker process. */
export function leaseOwner(): string {
  return `${os.hostname()}:${process.pid}`;
}

export interface RedisWebhooks {
  close(): Promise<void>;
}

/**
 * Redis modes: every worker runs a sender per URL, and the URL's lease lets one of them (in the
 * whole deployment) send at a time. Events stay in Redis until acknowledged, so a host's death
 * loses none. Nothing runs while webhooks.urls is empty.
 */
export function startRedisWebhooks(config: PusherConfig, registry: Registry, logger: Logger): RedisWebhooks {
  const settings = config.webhooks;
  if (settings.urls.length === 0) return { close: () => Promise.resolve() };
  const client = createRedisClient(config.redis, "webhooks", logger);
  const scripts = defineWebhookScripts(client);
  const owner = leaseOwner();
  const urlKeys = settings.urls.map((url) => webhookUrlKeys(config.redis.keyPrefix, url));
  const recorded = webhookQueueKey(config.redis.keyPrefix);
  const overflow = new ThrottledWarning(logger);

  const distribute = async (): Promise<void> => {
    const [moved, dropped, malformed] = await scripts.distribute([recorded, ...urlKeys.flatMap((k) => [k.list, k.dropped])], settings.maxQueuedEvents, MAX_MOVED);
    metrics.queued.inc(moved * urlKeys.length);
    if (dropped > 0) {
      metrics.dropped.inc(dropped);
      overflow.warn({ dropped }, "webhook queue full (webhooks.maxQueuedEvents): oldest events dropped");
    }
    if (malformed > 0) overflow.warn({ malformed }, `entries of ${recorded} that are not webhook events were dropped`);
  };
  const queues = urlKeys.map((keys) => new RedisQueue(client, scripts, keys, owner, settings.leaseMs, distribute));
  const metrics = createWebhookMetrics(registry, async () => {
    const lengths = await Promise.all([client.llen(recorded), ...queues.map((q) => q.length())]);
    return lengths.reduce((sum, n) => sum + n, 0);
  });
  const senders = settings.urls.map((url, i) => new UrlSender(url, queues[i]!, settings, metrics, logger));
  for (const sender of senders) sender.start();
  return {
    async close() {
      // Releasing the leases lets another host take over at once instead of after webhooks.leaseMs.
      // With Redis unreachable the senders' commands wait for it: disconnecting ends them.
      const stopped = Promise.all(senders.map((sender) => sender.stop()));
      await Promise.race([stopped, sleep(STOP_WAIT_MS)]);
      releaseRedisClient(client);
    },
  };
}
