import client, { type Registry } from "prom-client";

/**
 * Webhook figures, registered where the senders run: a worker's registry in the Redis modes (the
 * primary sums workers), the primary's own in embedded mode. `queueLength` reads the queues when
 * scraped; every worker of a host sees the same Redis lists, so the host reports the largest.
 */
export function createWebhookMetrics(registry: Registry, queueLength: () => Promise<number>) {
  const registers = [registry];
  return {
    queued: new client.Counter({ name: "pusher_webhook_events_queued_total", help: "Webhook events queued for sending, once per URL", registers }),
    sent: new client.Counter({ name: "pusher_webhook_events_sent_total", help: "Webhook events acknowledged by a URL (a 2xx), once per URL", registers }),
    dropped: new client.Counter({ name: "pusher_webhook_events_dropped_total", help: "Webhook events dropped, oldest first, because a URL's queue held webhooks.maxQueuedEvents", registers }),
    failedPosts: new client.Counter({ name: "pusher_webhook_posts_failed_total", help: "Webhook posts not acknowledged with a 2xx in time (each is retried)", registers }),
    postSeconds: new client.Histogram({
      name: "pusher_webhook_post_seconds",
      help: "Duration of webhook posts, acknowledged or not",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    queueLength: new client.Gauge({
      name: "pusher_webhook_queue_length",
      help: "Webhook events waiting, summed over URLs",
      aggregator: "max",
      registers,
      async collect() {
        this.set(await queueLength().catch(() => 0));
      },
    }),
  };
}

export type WebhookMetrics = ReturnType<typeof createWebhookMetrics>;
