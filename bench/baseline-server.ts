/**
 * The baseline: the hand-rolled Socket.IO push server operators run today, shaped like pusher
 * for a fair comparison (a cluster primary with @socket.io/sticky routing, N workers, the
 * cluster adapter carrying broadcasts between them), but with one room per channel and no
 * history, offsets or limits.
 *
 * Env: BASELINE_PORT (0 = any free port), BASELINE_HOST, BASELINE_WORKERS. Prints one JSON line
 * `{"msg":"baseline ready","port":N}` when serving.
 */
import { createAdapter, setupPrimary as setupAdapterPrimary } from "@socket.io/cluster-adapter";
import sticky from "@socket.io/sticky";
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

function runWorker(): void {
  const io = new Server<BaselineClientEvents, BaselineServerEvents>();
  const emit = (m: PublishBody): void => {
    io.to(m.channel).emit("message", { channel: m.channel, event: m.event, data: m.data, ts: Date.now() });
  };

  const httpServer = http.createServer(async (req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.method !== "POST" || (req.url !== "/publish" && req.url !== "/batch")) return reply(404, { ok: false });
    try {
      const body = await readJson(req);
      const messages = req.url === "/batch" ? (body as { messages?: unknown }).messages : [body];
      if (!Array.isArray(messages) || !messages.every(isPublishBody)) return reply(400, { ok: false });
      messages.forEach(emit);
      reply(200, { ok: true });
    } catch {
      reply(400, { ok: false });
    }
  });

  io.attach(httpServer);
  io.adapter(createAdapter());
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
else runWorker();
