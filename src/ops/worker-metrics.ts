import client from "prom-client";

/** Figures read from the worker's live state when metrics are collected, so they cannot drift. */
export interface WorkerGauges {
  connections(): number;
  subscriptions(): number;
}

/**
 * A worker's metrics, registered in prom-client's global registry: the primary's
 * AggregatorRegistry collects that registry from every worker over IPC and sums it for /metrics.
 */
export function createWorkerMetrics(gauges: WorkerGauges) {
  // Constructing one is what makes prom-client answer the primary's collection requests in a worker.
  new client.AggregatorRegistry();
  client.collectDefaultMetrics();
  return {
    connections: new client.Gauge({
      name: "pusher_connections",
      help: "Open Socket.IO connections",
      collect() {
        this.set(gauges.connections());
      },
    }),
    subscriptions: new client.Gauge({
      name: "pusher_subscriptions",
      help: "Channel subscriptions held by sockets",
      collect() {
        this.set(gauges.subscriptions());
      },
    }),
    publishes: new client.Counter({ name: "pusher_publishes_total", help: "Messages published through the API, by result", labelNames: ["result"] as const }),
    deliveries: new client.Counter({ name: "pusher_deliveries_total", help: "Messages written to subscribed sockets" }),
    deliveryLatency: new client.Histogram({
      name: "pusher_delivery_latency_seconds",
      help: "From the broker accepting a message to a worker writing it to its subscribers",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    recoveries: new client.Counter({ name: "pusher_recoveries_total", help: "Subscribes with `since`, by whether the gap was filled", labelNames: ["result"] as const }),
    overloadedSockets: new client.Counter({ name: "pusher_overloaded_sockets_total", help: "Sockets cut off because they did not read their messages (limits.maxQueuedMessagesPerSocket)" }),
    publishWait: new client.Histogram({
      name: "pusher_publish_wait_seconds",
      help: "How long publish API calls waited for the broker (long during a Redis failover)",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    redisMaster: new client.Gauge({
      name: "pusher_redis_master",
      help: "Workers whose Redis connection reached this master address (redis modes)",
      labelNames: ["address"] as const,
    }),
    redisFailovers: new client.Counter({
      name: "pusher_redis_failovers_total",
      help: "Changes of Redis master address seen by this host's workers (the highest worker count is reported)",
      aggregator: "max",
    }),
    fanoutLag: new client.Gauge({
      name: "pusher_fanout_lag_seconds",
      help: "From Redis accepting the newest message a worker read to the worker reading it (the slowest worker is reported)",
      aggregator: "max",
    }),
    rejectedConnections: new client.Counter({ name: "pusher_rejected_connections_total", help: "Connections refused by admission control, by reason", labelNames: ["reason"] as const }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/**
 * What the Redis broker reports for operators. Declared here, where it is consumed, so ops/ does not
 * import the broker; RedisBroker takes its observer as this type.
 */
export interface RedisObserver {
  /** The master the command connection reached ("host:port"), at every (re)connect. */
  master(address: string): void;
  fanoutLag(seconds: number): void;
}

/** Feeds the Redis figures: the master each connect reached, a failover whenever that address changes. */
export function redisObserver(metrics: WorkerMetrics): RedisObserver {
  let current: string | undefined;
  return {
    master(address) {
      if (current !== undefined && current !== address) metrics.redisFailovers.inc();
      current = address;
      metrics.redisMaster.reset();
      metrics.redisMaster.set({ address }, 1);
    },
    fanoutLag: (seconds) => metrics.fanoutLag.set(seconds),
  };
}
