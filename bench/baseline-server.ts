/**
 * The baseline: the hand-rolled Socket.IO push server operators run today, shaped like pusher
 * for a fair comparison (a cluster primary with @socket.io/sticky routing, N workers, the
 * cluster adapter carrying broadcasts between them), but with one room per channel and no
 * history, offsets or limits.
 *
 * With BASELINE_REDIS_SENTINELS ("h:p,h:p") it is instead the multi-host setup operators run
 * today: `@socket.io/redis-adapter` over ioredis Sentinel clients (master BASELINE_REDIS_NAME,
 * default mymaster) carries every broadcast to the other hosts, and a publish is answered 200
 * once Redis has acknowledged the PUBLISH, 503 if it failed.
 *
 * Env: BASELINE_PORT (0 = any free port), BASELINE_HOST, BASELINE_WORKERS. Prints one JSON line
 * `{"msg":"baseline ready","port":N}` when serving.
 */
import { createAdapter as createClusterAdapter, setupPrimary as setupAdapterPrimary } from "@socket.io/cluster-adapter";
import { createAdapter as createRedisAdapter } from "@socket.io/redis-adapter";
import sticky from "@socket.io/sticky";
import { Redis } from "ioredis";
import cluster from "node:cluster";
import http from "node:http";
import { Server } from "socket.io";

interface PublishBody {
  channel: string;
  event: string;
  data: unknown;
}

interface BaselineMessage extends PublishBody {
  ts: number;
}

interface BaselineServerEvents {
  message: (msg: BaselineMessage) => void;
}

interface BaselineClientEvents {
  subscribe: (req: { channel: string }, ack: (res: { ok: true; epoch: string; offset: number }) => void) => void;
}

const READY = "baseline:ready";

function log(fields: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: Date.now(), pid: process.pid, ...fields })}\n`);
}

async function runPrimary(): Promise<void> {
  const port = Number(process.env.BASELINE_PORT ?? 0);
  const host = process.env.BASELINE_HOST ?? "127.0.0.1";
  const workers = Number(process.env.BASELINE_WORKERS ?? 2);

  // Sticky 2.x hands sockets and Buffers to workers: it needs the advanced serialization.
  cluster.setupPrimary({ serialization: "advanced" });
  const httpServer = http.createServer();
  sticky.setupMaster(httpServer, { loadBalancingMethod: "least-connection" });
  setupAdapterPrimary();

  await Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise<void>((resolve) => {
          const worker = cluster.fork();
          worker.on("message", (m: unknown) => m === READY && resolve());
        }),
    ),
  );
  cluster.on("exit", (worker, code, signal) => log({ msg: "worker exited", worker: worker.id, code, signal }));
  httpServer.listen(port, host, () => {
    const address = httpServer.address();
    log({ msg: "baseline ready", port: typeof address === "object" && address ? address.port : port, workers });
  });
  process.once("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    httpServer.close();
    setTimeout(() => process.exit(0), 1_000).unref();
  });
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (err) {
        reject(err);
      }
    });
    req.on("error", reject);
  });
}

function isPublishBody(value: unknown): value is PublishBody {
  return typeof value === "object" && value !== null && typeof (value as PublishBody).channel === "string";
}

type BaselineServer = Server<BaselineClientEvents, BaselineServerEvents>;

/** Waits until the broadcasts emitted so far have left for the other workers or hosts. */
type Acknowledged = () => Promise<void>;

async function useClusterAdapter(io: BaselineServer): Promise<Acknowledged> {
  io.adapter(createClusterAdapter());
  // The primary relays over IPC: nothing further to wait for.
  return async () => undefined;
}

async function useRedisAdapter(io: BaselineServer, sentinels: string, name: string): Promise<Acknowledged> {
  const connect = (role: string): Redis => {
    const client = new Redis({
      sentinels: sentinels.split(",").map((address) => {
        const [host, port] = address.split(":");
        return { host: host!, port: Number(port) };
      }),
      name,
    });
    client.on("error", (err: Error) => log({ msg: "redis error", role, err: err.message }));
    return client;
  };
  const pub = connect("pub");
  const sub = connect("sub");
  io.adapter(createRedisAdapter(pub, sub));
  // Ready only once the adapter's subscriptions are in place (the PING is answered after them),
  // or the first broadcasts from other hosts would find nobody listening.
  await Promise.all([pub.ping(), sub.ping()]);
  // The adapter drops the promise of each PUBLISH: one rejected during a failover would otherwise
  // kill the worker, and the bench would measure a crash instead of the adapter's delivery.
  process.on("unhandledRejection", (reason) => log({ msg: "unhandled rejection", err: String(reason) }));
  // Replies come in command order, so the PING's answer means Redis has taken every PUBLISH before it.
  return async () => {
    await pub.ping();
  };
}

async function runWorker(): Promise<void> {
  const io: BaselineServer = new Server();
  const sentinels = process.env.BASELINE_REDIS_SENTINELS;
  const acknowledged = await (sentinels ? useRedisAdapter(io, sentinels, process.env.BASELINE_REDIS_NAME ?? "mymaster") : useClusterAdapter(io));
  const emit = (m: PublishBody): void => {
    io.to(m.channel).emit("message", { channel: m.channel, event: m.event, data: m.data, ts: Date.now() });
  };

  const httpServer = http.createServer(async (req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.method !== "POST" || (req.url !== "/publish" && req.url !== "/batch")) return reply(404, { ok: false });
    let messages: unknown;
    try {
      const body = await readJson(req);
      messages = req.url === "/batch" ? (body as { messages?: unknown }).messages : [body];
    } catch {
      return reply(400, { ok: false });
    }
    if (!Array.isArray(messages) || !messages.every(isPublishBody)) return reply(400, { ok: false });
    messages.forEach(emit);
    try {
      await acknowledged();
      reply(200, { ok: true });
    } catch (err) {
      reply(503, { ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });

  io.attach(httpServer);
  sticky.setupWorker(io);
  io.on("connection", (socket) => {
    socket.on("subscribe", (req, ack) => {
      void socket.join(req.channel);
      ack({ ok: true, epoch: "baseline", offset: 0 });
    });
  });
  // Exit normally (not by the signal's default action) so that `node --cpu-prof` writes its profile.
  process.once("SIGTERM", () => process.exit(0));
  process.send?.(READY);
}

if (cluster.isPrimary) void runPrimary();
else void runWorker();
