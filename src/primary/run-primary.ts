import cluster from "node:cluster";
import os from "node:os";
import type { AddressInfo } from "node:net";
import { setupPrimary as setupClusterAdapter } from "@socket.io/cluster-adapter";
import { createPrimaryBroker } from "../broker/embedded/primary-broker.js";
import type { PusherConfig } from "../config/schema.js";
import { tellSupervisorReady } from "../ipc/control.js";
import type { Logger } from "../ops/logger.js";
import { createPrimaryChannelState } from "../state/embedded/primary-state.js";
import { EmbeddedWebhooks } from "../webhooks/embedded-webhooks.js";
import { MetricsService } from "./metrics-service.js";
import { Pm2Metrics } from "./pm2-metrics.js";
import { ConnectionRouter } from "./connection-router.js";
import { WorkerPool } from "./worker-pool.js";
import { WorkerSeries } from "./worker-series.js";
import { WorkerWatchdog } from "./worker-watchdog.js";

/**
 * The primary: owns the listening socket and hands each connection to a worker (ConnectionRouter),
 * keeps the workers alive, sequences channels in embedded mode, aggregates
 * metrics, and turns SIGTERM into an orderly drain under the deadline. In embedded mode the
 * channel state's webhook events go to the primary's webhook sender.
 */
export function runPrimary(config: PusherConfig, logger: Logger, workerEntry: string): void {
  // Advanced serialization carries the handed-over request bytes as a Buffer and the broker's messages as they are.
  cluster.setupPrimary({ exec: workerEntry, serialization: "advanced" });
  setupClusterAdapter();

  const metrics = new MetricsService(logger.child({ module: "metrics" }));
  // Embedded mode: the outbox that the primary's channel state hands its webhook events to.
  const webhooks = config.redis.mode === "none" ? new EmbeddedWebhooks(config.webhooks, metrics.registry, logger.child({ module: "webhooks" })) : undefined;
  webhooks?.start();
  const broker = createPrimaryBroker(config, logger);
  const channelState = createPrimaryChannelState(config, logger, webhooks);

  const size = config.server.workers > 0 ? config.server.workers : os.availableParallelism();
  const watchdog = new WorkerWatchdog(config.server.workerStallTimeoutMs, logger.child({ module: "watchdog" }));
  const pm2Metrics = new Pm2Metrics(size);
  const series = new WorkerSeries(size);
  const router = new ConnectionRouter(logger.child({ module: "router" }), {
    headTimeoutMs: config.server.headersTimeoutMs,
    onAccepted: () => metrics.acceptedConnections.inc(),
  });
  const pool = new WorkerPool(size, logger.child({ module: "workers" }), (worker, index) => {
    metrics.attach(worker);
    pm2Metrics.attach(worker, index);
    series.attach(worker, index);
    router.attach(worker);
    broker?.attach(worker);
    channelState?.attach(worker);
  });
  pool.on("died", () => metrics.workerDeaths.inc());
  pool.on("exhausted", () => {
    logger.fatal("every worker slot crashes in a loop; exiting so the supervisor notices");
    process.exit(1);
  });

  const server = router.server;
  server.on("error", (err) => {
    logger.fatal({ err }, "cannot listen");
    process.exit(1);
  });

  const readyWorkers = new Set<number>();
  pool.on("ready", (worker, index) => {
    router.ready(worker);
    // Watched from when it serves: nothing is routed to a starting worker, and on a loaded machine
    // loading its modules outlasted a short stall timeout, so every respawn was killed in turn.
    watchdog.watch(worker, index);
  });
  const onReady = (_worker: unknown, index: number): void => {
    readyWorkers.add(index);
    if (readyWorkers.size !== size) return;
    pool.off("ready", onReady);
    server.listen(config.server.port, config.server.host, () => {
      const { port } = server.address() as AddressInfo;
      logger.info({ port, host: config.server.host, workers: size, mode: config.redis.mode }, "pusher ready");
      // pm2 wait_ready: the app is up only once every worker serves.
      tellSupervisorReady();
    });
  };
  pool.on("ready", onReady);
  pool.start();
  watchdog.start();
  series.start();
  pm2Metrics.publish(logger.child({ module: "pm2" })).catch((err: unknown) => logger.warn({ err }, "per-worker metrics not published to pm2"));

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    pool.stop();
    watchdog.stop();
    // The listener stays open while workers drain: /readyz answers 503 and new handshakes get a
    // 503 to retry elsewhere, where a closed port would only say "refused".
    // A signal, not an IPC message: Node queues every message to a worker behind the socket
    // handoffs it has not yet acknowledged, and a busy host's backlog (seconds of them on a starved
    // machine) held the drain order until the deadline had passed.
    for (const worker of pool.workers) if (!worker.isDead()) worker.process.kill("SIGTERM");
    const deadline = setTimeout(() => {
      logger.warn("workers did not stop before the deadline; killing them");
      for (const worker of pool.workers) worker.process.kill("SIGKILL");
      process.exit(1);
    }, config.shutdown.deadlineMs);
    deadline.unref();
    const stopAt = Date.now() + config.shutdown.deadlineMs;
    let exiting = false;
    // Each worker's exit, not cluster.workers: Node keeps a worker there until its IPC channel
    // emits "disconnect", which never comes for a worker that exits with a socket handoff
    // unacknowledged (ChildProcess#disconnect waits for that acknowledgement). A drain whose
    // workers had stopped in 0.4 s then waited out the deadline and exited 1 (fault bench).
    const waitForWorkers = (): void => {
      if (exiting || !pool.workers.every((worker) => worker.isDead())) return;
      exiting = true;
      // The workers' last leaves are queued by now; what the receivers do not take in time is lost.
      void (webhooks?.flush(stopAt - 500) ?? Promise.resolve()).finally(() => {
        logger.info("stopped");
        process.exit(0);
      });
    };
    cluster.on("exit", waitForWorkers);
    waitForWorkers();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}
