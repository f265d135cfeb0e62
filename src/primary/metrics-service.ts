import type { Worker } from "node:cluster";
import client from "prom-client";
import { isWorkerToPrimary, sendToWorker } from "../ipc/control.js";
import type { Logger } from "../ops/logger.js";

/**
 * Answers a worker's /metrics with the whole host's figures: every worker's registry, summed by
 * prom-client's AggregatorRegistry, followed by the primary's own (broker, respawns).
 */
export class MetricsService {
  private readonly aggregator = new client.AggregatorRegistry();
  readonly registry = new client.Registry();
  readonly workerDeaths = new client.Counter({ name: "pusher_worker_deaths_total", help: "Workers that died while the host was serving (respawned unless crashing in a loop)", registers: [this.registry] });

  readonly acceptedConnections = new client.Counter({
    name: "pusher_accepted_connections_total",
    help: "TCP connections the host accepted (each routed to a worker by its first request; a kept-alive connection counts once however many requests it carries)",
    registers: [this.registry],
  });

  constructor(private readonly logger: Logger) {}

  /** Serves metric requests from one worker. */
  attach(worker: Worker): void {
    worker.on("message", (message) => {
      if (!isWorkerToPrimary(message) || message.t !== "metrics:collect") return;
      this.render().then(
        (text) => sendToWorker(worker, { t: "metrics:text", id: message.id, text }),
        (err: unknown) => this.logger.warn({ err }, "metrics collection failed"),
      );
    });
  }

  private async render(): Promise<string> {
    const [workers, own] = await Promise.all([this.aggregator.clusterMetrics(), this.registry.metrics()]);
    return `${workers}\n${own}`;
  }
}
