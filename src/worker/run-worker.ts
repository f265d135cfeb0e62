import http from "node:http";
import promClient from "prom-client";
import { ChannelAuthorizer } from "../channels/channel-authorizer.js";
import { ChannelFeeds } from "../channels/channel-feeds.js";
import { clientEventHandler } from "../channels/client-events.js";
import { subscriptionHandlers } from "../channels/subscription-handlers.js";
import type { PusherConfig } from "../config/schema.js";
import type { ClientEvent } from "../protocol/presence.js";
import { consoleRoutes } from "../console/console-routes.js";
import { createRouter } from "../http/router.js";
import { isPrimaryToWorker, sendToPrimary } from "../ipc/control.js";
import type { ConsoleSeries } from "../protocol/console-series.js";
import { PendingRequests } from "../ipc/pending-requests.js";
import { healthRoutes } from "../ops/health-routes.js";
import type { Logger } from "../ops/logger.js";
import { PacedRate, RateLimit } from "../ops/rate-limit.js";
import { createWorkerMetrics, redisObserver } from "../ops/worker-metrics.js";
import { ApiKeys } from "../publish/api-keys.js";
import { channelStateRoutes } from "../publish/channel-state-api.js";
import { createPublishApi } from "../publish/publish-api.js";
import { ChannelOccupancy } from "../state/channel-occupancy.js";
import { paceConnections, refuseHandshakes, type AdmissionDeps } from "./admission.js";
import type { CreateBackends } from "./backends.js";
import { releaseOpeningRequests } from "./connection-footprint.js";
import { acceptHandedConnections, enforceTimeouts, limitKeepAlive } from "./connection-intake.js";
import { drainSockets } from "./drain.js";
import { guardOutgoingBuffers } from "./outgoing-buffers.js";
import { reportStats } from "./stats-reporter.js";
import { createSocketServer } from "./socket-server.js";

const READINESS_PROBE_MS = 2000;
const METRICS_TIMEOUT_MS = 5000;
/** How long a draining worker waits for the publishes it holds (they take milliseconds when Redis is well). */
const PUBLISH_SETTLE_MS = 2000;

/**
 * A worker: HTTP API, health endpoints and socket.io, wired synchronously on the first tick so a
 * connection the primary hands over at once is already served (DESIGN §7, sticky under churn).
 * `createBackends` is the embedded or the Redis modes' factory, loaded by src/main.ts.
 */
export function runWorker(config: PusherConfig, logger: Logger, createBackends: CreateBackends): void {
  const metricRequests = new PendingRequests();
  let draining = false;

  // Read at collection time only, when `io` below exists.
  const metrics = createWorkerMetrics({
    connections: () => io.of("/").sockets.size,
    subscriptions: () => {
      let total = 0;
      for (const socket of io.of("/").sockets.values()) total += socket.data.channels?.size ?? 0;
      return total;
    },
  });
  const { broker, channelState, ingress, webhooks } = createBackends(config, logger, { observer: redisObserver(metrics), registry: promClient.register });
  const apiKeys = new ApiKeys(config.auth.apiKeys);
  const keyRate = new RateLimit(config.limits.publishRatePerSecond);

  const publishApi = createPublishApi({
    broker,
    apiKeys,
    keyRate,
    limits: config.limits,
    maxBatchMessages: config.publish.maxBatchMessages,
    onPublished: (result, count, seconds) => {
      metrics.publishes.inc({ result }, count);
      metrics.publishWait.observe(seconds);
    },
  });
  const router = createRouter({
    "/v1/publish": { POST: publishApi.publish },
    "/v1/batch": { POST: publishApi.batch },
    ...channelStateRoutes({ broker, state: channelState, apiKeys, keyRate }),
    ...consoleRoutes(config.console, process.env.NODE_ENV, async () =>
      (await metricRequests.start((id) => sendToPrimary({ t: "series:collect", id }), METRICS_TIMEOUT_MS, "the primary's worker series")) as ConsoleSeries,
    ),
    ...healthRoutes({
      probe: (timeoutMs) => broker.probe(timeoutMs),
      isDraining: () => draining,
      probeTimeoutMs: READINESS_PROBE_MS,
      collectMetrics: async () =>
        (await metricRequests.start((id) => sendToPrimary({ t: "metrics:collect", id }), METRICS_TIMEOUT_MS, "the primary's metrics")) as string,
    }),
  }, logger.child({ module: "http" }));
  // The router must be in place before socket.io attaches: it wraps the existing request listeners.
  const httpServer = http.createServer(router);
  enforceTimeouts(httpServer, config.server);
  const io = createSocketServer(httpServer, config);
  const keepAlive = limitKeepAlive(httpServer, io.path());
  acceptHandedConnections(httpServer, sendToPrimary);

  let delivered = 0;
  const feeds = new ChannelFeeds(io, (message, reached) => {
    delivered += reached;
    metrics.deliveries.inc(reached);
    metrics.deliveryLatency.observe((Date.now() - message.ts) / 1000);
  });
  broker.onMessages((messages) => feeds.deliver(messages));
  broker.onReset((channel, head) => feeds.reset(channel, head));

  const admission: AdmissionDeps = {
    isDraining: () => draining,
    connectionPacer: new PacedRate(config.limits.connectionRatePerSecond, config.limits.connectionQueueSeconds),
    maxConnections: config.limits.maxConnections,
    connectionCount: () => io.engine.clientsCount,
    onReject: (reason) => metrics.rejectedConnections.inc({ reason }),
  };
  refuseHandshakes(io, admission);
  io.use(paceConnections(admission));
  const outgoingLimits = { maxQueuedMessages: config.limits.maxQueuedMessagesPerSocket, maxQueuedBytes: config.limits.maxQueuedBytesPerSocket };
  const stopGuard = guardOutgoingBuffers(io, outgoingLimits, (socket, unsent) => {
    metrics.overloadedSockets.inc();
    logger.warn({ socket: socket.id, queued: unsent.packets, unsentBytes: unsent.bytes }, "socket cut off: it does not read its messages");
  });
  const occupancy = new ChannelOccupancy({
    io,
    backend: channelState,
    maxMembers: config.limits.maxPresenceMembers,
    countSyncMs: config.channelState.countSyncMs,
    logger: logger.child({ module: "channel-state" }),
  });
  const installSubscriptions = subscriptionHandlers({
    broker,
    feeds,
    occupancy,
    authorizer: new ChannelAuthorizer(config.auth.jwtSecret, config.limits.maxPresenceInfoBytes),
    requestRate: new RateLimit(config.limits.subscribeRatePerSecond),
    maxSubscriptionsPerSocket: config.limits.maxSubscriptionsPerSocket,
    maxPayloadDepth: config.limits.maxPayloadDepth,
    onRecovery: (recovered: boolean) => metrics.recoveries.inc({ result: recovered ? "recovered" : "not_recovered" }),
    logger: logger.child({ module: "subscriptions" }),
  });
  const installClientEvents = clientEventHandler({
    occupancy,
    broadcast: (event: ClientEvent, from: string) => channelState.broadcast({ t: "client_event", event, from }),
    rate: new RateLimit(config.limits.clientEventRatePerSecond),
    maxDataBytes: config.limits.maxClientEventBytes,
    maxPayloadDepth: config.limits.maxPayloadDepth,
    logger: logger.child({ module: "client-events" }),
  });
  io.on("connection", (socket) => {
    installSubscriptions(socket);
    installClientEvents(socket);
  });
  // Last of the engine.io middlewares (see there).
  releaseOpeningRequests(io);
  reportStats(
    () => io.engine.clientsCount,
    () => delivered,
    (stats) => sendToPrimary({ t: "worker:stats", stats }),
  );

  const shutdown = async (why: string): Promise<void> => {
    if (draining) return;
    draining = true;
    const deadline = Date.now() + config.shutdown.deadlineMs - 1000;
    logger.info({ why, sockets: io.engine.clientsCount }, "draining");
    keepAlive.stop();
    stopGuard();
    await drainSockets(io, config.shutdown.drainRate, deadline);
    await io.close().catch(() => undefined);
    // Publishes this worker has taken are answered before the broker they wait on closes; one
    // still waiting after PUBLISH_SETTLE_MS waits on a sick broker, and is cut (nginx says 503).
    await keepAlive.settled(Math.min(deadline, Date.now() + PUBLISH_SETTLE_MS));
    await ingress?.close();
    occupancy.close();
    await channelState.close();
    await webhooks?.close();
    await broker.close();
    logger.info("worker stopped");
    process.exit(0);
  };
  process.on("message", (message) => {
    if (!isPrimaryToWorker(message)) return;
    switch (message.t) {
      case "metrics:text":
        metricRequests.settle(message.id, message.text);
        return;
      case "series:data":
        metricRequests.settle(message.id, message.series);
        return;
      case "worker:ping":
        sendToPrimary({ t: "worker:pong" });
        return;
    }
  });
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("disconnect", () => {
    // The primary is gone (SIGKILLed with its tree, or crashed): a worker without it serves nobody.
    logger.warn("primary disconnected; exiting");
    process.exit(1);
  });

  // Connections handed over before this resolves are already held: their requests wait for the broker.
  void broker.start().then(async () => {
    await channelState.start();
    ingress?.start();
    sendToPrimary({ t: "worker:ready" });
  });
}
