import convict from "convict";

/** Secrets that ship for development only; `loadConfig` refuses them when NODE_ENV=production. */
export const DEV_API_KEY = "dev-api-key-change-me";
export const DEV_JWT_SECRET = "dev-jwt-secret-change-me-0123456789abcdef";
export const DEV_WEBHOOK_SECRET = "dev-webhook-secret-change-me-0123456789";

const TRANSPORTS = ["polling", "websocket"] as const;
export type Transport = (typeof TRANSPORTS)[number];

function splitList(value: unknown): unknown {
  return typeof value === "string" ? value.split(",").map((s) => s.trim()).filter((s) => s !== "") : value;
}

/**
 * Whole numbers from env arrive as strings. convict's own coercion is parseInt, which reads "12abc"
 * as 12 and turns "abc" into NaN (so the error cannot show what the operator typed); these replace
 * the built-in "port" and "nat" so only digits coerce and anything else fails with its raw value.
 */
function wholeNumber(value: unknown): unknown {
  return typeof value === "string" && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
}

convict.addFormat({
  name: "port",
  coerce: wholeNumber,
  validate(value: unknown) {
    if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65535) throw new Error("ports must be within range 0 - 65535");
  },
});

convict.addFormat({
  name: "nat",
  coerce: wholeNumber,
  validate(value: unknown) {
    if (!Number.isInteger(value) || (value as number) < 0) throw new Error("must be a whole number, 0 or more");
  },
});

convict.addFormat({
  name: "transport-list",
  coerce: splitList,
  validate(value: unknown) {
    if (!Array.isArray(value) || value.length === 0) throw new Error("must list at least one of polling, websocket");
    for (const t of value) {
      if (!(TRANSPORTS as readonly unknown[]).includes(t)) throw new Error(`unknown transport "${String(t)}" (allowed: polling, websocket)`);
    }
  },
});

convict.addFormat({
  name: "host-port-list",
  coerce: splitList,
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error('must be a list of "host:port"');
    for (const entry of value) {
      if (typeof entry !== "string" || !/^[^\s:]+:\d{1,5}$/.test(entry)) throw new Error(`"${String(entry)}" is not "host:port"`);
    }
  },
});

convict.addFormat({
  name: "url-list",
  coerce: splitList,
  validate(value: unknown) {
    if (!Array.isArray(value)) throw new Error("must be a list of http:// or https:// URLs");
    for (const entry of value) {
      if (typeof entry !== "string" || !URL.canParse(entry) || !/^https?:$/.test(new URL(entry).protocol)) throw new Error(`"${String(entry)}" is not an http:// or https:// URL`);
    }
  },
});

convict.addFormat({
  name: "string-list",
  coerce: splitList,
  validate(value: unknown) {
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v === "")) throw new Error("must be a list of non-empty strings");
  },
});

/**
 * The single source of every setting: doc, format, default and env name. `pusher config doc`
 * prints it; docs/configuration.md is generated from it.
 */
export const schema = {
  server: {
    port: { doc: "TCP port the primary listens on (0 picks a free port)", format: "port", default: 3000, env: "PUSHER_PORT" },
    host: { doc: "Address the primary listens on", format: String, default: "0.0.0.0", env: "PUSHER_HOST" },
    workers: { doc: "Worker processes to fork (0 = one per CPU)", format: "nat", default: 0, env: "PUSHER_WORKERS" },
    workerStallTimeoutMs: {
      doc: "A ready worker whose event loop does not answer the primary's ping for this long is killed and respawned (0 = never); a starting worker is not routed to and not watched",
      format: "nat",
      default: 10000,
      env: "PUSHER_WORKER_STALL_TIMEOUT_MS",
    },
    headersTimeoutMs: {
      doc: "A connection that has not sent a whole request head (request line and headers) this long after it reached a worker, or after its previous request, is closed (408); the primary also closes one that has not sent the request line it routes by this long after it opened, so a first head takes at most twice this",
      format: "nat",
      default: 10000,
      env: "PUSHER_HEADERS_TIMEOUT_MS",
    },
    requestTimeoutMs: {
      doc: "A request not received in full (head and body) within this long is answered 408 and its connection closed (0 = no limit; at least server.headersTimeoutMs)",
      format: "nat",
      default: 30000,
      env: "PUSHER_REQUEST_TIMEOUT_MS",
    },
    keepAliveTimeoutMs: {
      doc: "An idle keep-alive connection (publish API, health checks) is closed after this long; keep it above the keepalive_timeout of nginx's upstream (60 s), so nginx never reuses a connection pusher is closing",
      format: "nat",
      default: 65000,
      env: "PUSHER_KEEP_ALIVE_TIMEOUT_MS",
    },
    transports: {
      doc: "Socket.IO transports accepted (websocket alone needs no sticky load balancing)",
      format: "transport-list",
      default: [...TRANSPORTS] as Transport[],
      env: "PUSHER_TRANSPORTS",
    },
    pingIntervalMs: { doc: "Socket.IO ping interval; keep nginx proxy_read_timeout above interval + timeout", format: "nat", default: 25000, env: "PUSHER_PING_INTERVAL_MS" },
    pingTimeoutMs: { doc: "Socket.IO ping timeout", format: "nat", default: 20000, env: "PUSHER_PING_TIMEOUT_MS" },
    corsOrigins: {
      doc: 'Origins allowed for long-polling requests from browsers ("*" = any)',
      format: "string-list",
      default: ["*"] as string[],
      env: "PUSHER_CORS_ORIGINS",
    },
  },
  redis: {
    mode: { doc: "Broker backend: none (embedded, one host), standalone (one Redis), sentinel", format: ["none", "standalone", "sentinel"] as const, default: "none", env: "PUSHER_REDIS_MODE" },
    url: { doc: "Redis URL for standalone mode", format: String, default: "redis://127.0.0.1:6379", env: "PUSHER_REDIS_URL" },
    sentinels: { doc: 'Sentinel addresses for sentinel mode ("host:port" list)', format: "host-port-list", default: [] as string[], env: "PUSHER_REDIS_SENTINELS" },
    name: { doc: "Master name the sentinels monitor", format: String, default: "mymaster", env: "PUSHER_REDIS_NAME" },
    password: { doc: "Password of the Redis master and replicas", format: String, default: "", env: "PUSHER_REDIS_PASSWORD", sensitive: true },
    sentinelPassword: { doc: "Password of the sentinels", format: String, default: "", env: "PUSHER_REDIS_SENTINEL_PASSWORD", sensitive: true },
    commandTimeoutMs: {
      doc: "A Redis server silent this long with commands pending is dropped and the commands retried elsewhere; keep it below Sentinel's down-after-milliseconds, so a hung master that wakes after a failover cannot acknowledge writes it will lose",
      format: "nat",
      default: 1000,
      env: "PUSHER_REDIS_COMMAND_TIMEOUT_MS",
    },
    ingressClaimIdleMs: {
      doc: "The Redis ingress reader's lease: when the worker reading the ingress goes this long without renewing it (it died or lost Redis), another takes over; entries read and left unacknowledged this long are published again",
      format: "nat",
      default: 5000,
      env: "PUSHER_REDIS_INGRESS_CLAIM_IDLE_MS",
    },
    keyPrefix: { doc: "Prefix of every Redis key pusher writes (several deployments can share one Redis)", format: String, default: "pusher:", env: "PUSHER_REDIS_KEY_PREFIX" },
    fanoutMaxLength: {
      doc: "Entries kept in the fan-out stream; a worker that falls further behind fills the gaps from channel history",
      format: "nat",
      default: 100000,
      env: "PUSHER_REDIS_FANOUT_MAX_LENGTH",
    },
  },
  auth: {
    apiKeys: { doc: "API keys accepted by the publish API (Bearer tokens)", format: "string-list", default: [DEV_API_KEY] as string[], env: "PUSHER_API_KEYS", sensitive: true },
    jwtSecret: { doc: "HS256 secret that signs channel tokens (use at least 32 random characters)", format: String, default: DEV_JWT_SECRET, env: "PUSHER_JWT_SECRET", sensitive: true },
  },
  publish: {
    durability: { doc: "When a publish is acknowledged: leader (written on the master) or replica (also on a replica, via WAIT)", format: ["leader", "replica"] as const, default: "leader", env: "PUSHER_PUBLISH_DURABILITY" },
    timeoutMs: { doc: "How long a publish may wait for the broker before it fails with 503", format: "nat", default: 10000, env: "PUSHER_PUBLISH_TIMEOUT_MS" },
    replicaMaxLagSeconds: {
      doc: "At durability replica, a publish waits for every connected replica (syncing ones included) except those that have not acknowledged replication for longer than this (stalled or cut off), and for at least one",
      format: "nat",
      default: 3,
      env: "PUSHER_PUBLISH_REPLICA_MAX_LAG_SECONDS",
    },
    dedupWindowSeconds: { doc: "How long a publish id is remembered, so a retried publish is not delivered twice", format: "nat", default: 300, env: "PUSHER_PUBLISH_DEDUP_WINDOW_SECONDS" },
    maxBatchMessages: { doc: "Messages accepted in one /v1/batch request", format: "nat", default: 100, env: "PUSHER_PUBLISH_MAX_BATCH_MESSAGES" },
  },
  history: {
    size: { doc: "Messages kept per channel for recovery", format: "nat", default: 1000, env: "PUSHER_HISTORY_SIZE" },
    ttlSeconds: { doc: "How long a message stays recoverable", format: "nat", default: 300, env: "PUSHER_HISTORY_TTL_SECONDS" },
    metaTtlSeconds: {
      doc: "How long an idle channel keeps its epoch and offset after its last message (a new epoch is minted after that)",
      format: "nat",
      default: 86400,
      env: "PUSHER_HISTORY_META_TTL_SECONDS",
    },
  },
  channelState: {
    workerLeaseMs: {
      doc: "Redis modes: each worker renews a lease this long every third of it; a worker (or host) that dies has its subscribers and presence members removed by the other workers within about 1.33 times this. Keep it above a Sentinel failover's duration, so a failover reaps nobody",
      format: "nat",
      default: 15000,
      env: "PUSHER_CHANNEL_STATE_WORKER_LEASE_MS",
    },
    countSyncMs: {
      doc: "Subscriber and connection counts that change no occupancy and no membership are sent to the shared state at most this often; the channel state API's counts lag by at most this (occupied, vacated and member changes are sent at once)",
      format: "nat",
      default: 1000,
      env: "PUSHER_CHANNEL_STATE_COUNT_SYNC_MS",
    },
  },
  limits: {
    maxPresenceMembers: { doc: "Members one presence channel may hold; a new user's subscribe beyond it is refused with presence_full (0 = no limit)", format: "nat", default: 1000, env: "PUSHER_MAX_PRESENCE_MEMBERS" },
    maxPresenceInfoBytes: { doc: "Largest user.info in a presence token, in bytes of JSON; a larger one is refused with presence_user_required", format: "nat", default: 1024, env: "PUSHER_MAX_PRESENCE_INFO_BYTES" },
    clientEventRatePerSecond: { doc: "client-event messages per second accepted per socket (0 = unlimited)", format: "nat", default: 10, env: "PUSHER_CLIENT_EVENT_RATE_PER_SECOND" },
    maxClientEventBytes: { doc: "Largest client event data, in bytes of JSON", format: "nat", default: 10240, env: "PUSHER_MAX_CLIENT_EVENT_BYTES" },
    maxPayloadBytes: { doc: "Largest message data accepted, in bytes of JSON", format: "nat", default: 65536, env: "PUSHER_MAX_PAYLOAD_BYTES" },
    maxPayloadDepth: {
      doc: "Deepest nesting of arrays and objects accepted in message data and client frames; checked on the raw text before parsing, since deep documents overflow the stack of whatever recurses over them (IPC, JSON encoding)",
      format: "nat",
      default: 32,
      env: "PUSHER_MAX_PAYLOAD_DEPTH",
    },
    maxChannels: {
      doc: "Channels with messages a host keeps sequencing state for (embedded mode); a publish that would create one more is refused with too_many_channels. Channels without messages cost nothing and do not count",
      format: "nat",
      default: 100000,
      env: "PUSHER_MAX_CHANNELS",
    },
    maxSubscriptionsPerSocket: { doc: "Channels one socket may subscribe to", format: "nat", default: 100, env: "PUSHER_MAX_SUBSCRIPTIONS_PER_SOCKET" },
    publishRatePerSecond: { doc: "Publishes per second accepted per API key in each worker (0 = unlimited)", format: "nat", default: 20000, env: "PUSHER_PUBLISH_RATE_PER_SECOND" },
    subscribeRatePerSecond: { doc: "subscribe/unsubscribe requests per second accepted per socket", format: "nat", default: 50, env: "PUSHER_SUBSCRIBE_RATE_PER_SECOND" },
    connectionRatePerSecond: { doc: "New connections per second admitted by each worker; the surplus is queued (0 = unlimited)", format: "nat", default: 1000, env: "PUSHER_CONNECTION_RATE_PER_SECOND" },
    connectionQueueSeconds: {
      doc: "Connections beyond connectionRatePerSecond wait in a queue holding this many seconds' worth; only past it are they refused",
      format: "nat",
      default: 10,
      env: "PUSHER_CONNECTION_QUEUE_SECONDS",
    },
    maxConnections: { doc: "Connections each worker holds at most (0 = unlimited)", format: "nat", default: 50000, env: "PUSHER_MAX_CONNECTIONS" },
    maxClientFrameBytes: { doc: "Largest frame a client may send (subscribe requests with tokens, client events: keep it above limits.maxClientEventBytes); a larger frame closes the connection (socket.io maxHttpBufferSize)", format: "nat", default: 16384, env: "PUSHER_MAX_CLIENT_FRAME_BYTES" },
    maxQueuedMessagesPerSocket: {
      doc: "Unsent messages a socket may hold before it is cut off (it reconnects and recovers from history); bounds memory under fan-out bursts",
      format: "nat",
      default: 1000,
      env: "PUSHER_MAX_QUEUED_MESSAGES_PER_SOCKET",
    },
    maxQueuedBytesPerSocket: {
      doc: "Bytes of messages a socket may hold unsent (queued in engine.io, ws and the TCP socket's write buffer) before it is cut off; with maxQueuedMessagesPerSocket, bounds memory per slow client",
      format: "nat",
      default: 8388608,
      env: "PUSHER_MAX_QUEUED_BYTES_PER_SOCKET",
    },
  },
  shutdown: {
    drainRate: { doc: "Sockets each worker disconnects per second while draining", format: "nat", default: 1000, env: "PUSHER_DRAIN_RATE" },
    deadlineMs: { doc: "Drain deadline after SIGTERM; keep pm2 kill_timeout and systemd TimeoutStopSec above it", format: "nat", default: 10000, env: "PUSHER_SHUTDOWN_DEADLINE_MS" },
  },
  console: {
    enabled: {
      doc: "Serve the web console at /console (watch channels, publish test messages): auto = on unless NODE_ENV=production; the publish form still needs an API key",
      format: ["auto", "on", "off"] as const,
      default: "auto",
      env: "PUSHER_CONSOLE",
    },
  },
  webhooks: {
    urls: {
      doc: "URLs that receive webhooks (channel_occupied, channel_vacated, member_added, member_removed), each gets every event; empty = webhooks off",
      format: "url-list",
      default: [] as string[],
      env: "PUSHER_WEBHOOK_URLS",
    },
    secret: {
      doc: "Key of the X-Pusher-Signature HMAC-SHA256 over each webhook body (a development value, refused in production while webhooks.urls is set)",
      format: String,
      default: DEV_WEBHOOK_SECRET,
      env: "PUSHER_WEBHOOK_SECRET",
      sensitive: true,
    },
    batchWaitMs: { doc: "How long events gather before a post (a post goes sooner once webhooks.batchMaxEvents are waiting)", format: "nat", default: 200, env: "PUSHER_WEBHOOK_BATCH_WAIT_MS" },
    batchMaxEvents: { doc: "Events in one post at most (0 counts as 1)", format: "nat", default: 100, env: "PUSHER_WEBHOOK_BATCH_MAX_EVENTS" },
    requestTimeoutMs: { doc: "A post not answered with a 2xx within this long counts as failed and is retried", format: "nat", default: 5000, env: "PUSHER_WEBHOOK_REQUEST_TIMEOUT_MS" },
    retryMinMs: { doc: "Delay before the first retry of a failed post; each further retry doubles it (with jitter) up to webhooks.retryMaxMs", format: "nat", default: 500, env: "PUSHER_WEBHOOK_RETRY_MIN_MS" },
    retryMaxMs: { doc: "Longest delay between retries of a failed post; a post is retried until a 2xx", format: "nat", default: 60000, env: "PUSHER_WEBHOOK_RETRY_MAX_MS" },
    maxQueuedEvents: {
      doc: "Events waiting per URL at most (in Redis in the Redis modes, in the primary in embedded mode), and in the Redis modes also in the queue the deciding scripts record to; past it the oldest are dropped, counted in pusher_webhook_events_dropped_total and logged",
      format: "nat",
      default: 100000,
      env: "PUSHER_WEBHOOK_MAX_QUEUED_EVENTS",
    },
    leaseMs: {
      doc: "Redis modes: one worker of the whole deployment sends to each URL, holding a lease it renews; when it dies, another takes over after at most this long and resends the batch that was in flight",
      format: "nat",
      default: 5000,
      env: "PUSHER_WEBHOOK_LEASE_MS",
    },
  },
  log: {
    level: { doc: "Log level", format: ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const, default: "info", env: "PUSHER_LOG_LEVEL" },
    format: { doc: "json, pretty, or auto (pretty on a terminal outside production)", format: ["auto", "json", "pretty"] as const, default: "auto", env: "PUSHER_LOG_FORMAT" },
  },
};

export type PusherConfig = ReturnType<convict.Config<ConfigShape>["getProperties"]>;

/**
 * A setting's type. A setting with a list of choices (`format: [...] as const`) is the union of
 * them, so a misspelled mode does not compile; lists keep their element type (Transport[]).
 */
type Leaf<T> = T extends { format: readonly (infer C extends string)[] }
  ? C
  : T extends { default: infer D }
    ? D extends readonly (infer E)[]
      ? E[]
      : D extends number
        ? number
        : D extends string
          ? string
          : D
    : never;
type ConfigShape = { [S in keyof typeof schema]: { [K in keyof (typeof schema)[S]]: Leaf<(typeof schema)[S][K]> } };

/** A fresh convict instance over the schema, reading only the env given (none by default) and no argv. */
export function createConfig(env: NodeJS.ProcessEnv = {}): convict.Config<ConfigShape> {
  return convict<ConfigShape>(schema as unknown as convict.Schema<ConfigShape>, { env, args: [] });
}
