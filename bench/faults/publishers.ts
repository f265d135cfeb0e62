/**
 * The two ways backends publish, each paced, each message carrying a unique seq: single
 * `POST /v1/publish` through nginx (from several source addresses, so `hash $remote_addr` spreads
 * them over the hosts as it would real backends), and XADD to the Redis ingress stream through a
 * Sentinel-aware client. An HTTP publish with no answer within publish.timeoutMs plus a margin is
 * recorded as unanswered, and still waited for up to `abandonAfterMs`, to tell a late answer from
 * none at all; an ingress entry not confirmed by the backend's deadline is not acknowledged.
 */
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { DEV_API_KEY } from "../../test/helpers/pusher.js";
import type { FailoverPayload } from "../failover/protocol.js";
import { describeError, startPaced, type Paced } from "../failover/publisher.js";
import type { Durability } from "./plan.js";

export type PublishPath = "http" | "ingress";

export interface FaultPublish {
  seq: number;
  path: PublishPath;
  channel: string;
  issuedAt: number;
  answeredAt: number;
  /** HTTP 200, or the XADD answered (and, at `replica`, WAIT 1 confirmed a replica has it). */
  acked: boolean;
  /** HTTP only: no answer within the bound (a late one may still have come: see `neverAnswered`). */
  unanswered: boolean;
  /** No answer at all, even after `abandonAfterMs`. */
  neverAnswered: boolean;
  error?: string;
  /** The position the 200 gave (HTTP only: XADD does not know it). */
  epoch?: string;
  offset?: number;
}

export interface PacedRate {
  perSecond: number;
  maxInFlight: number;
  /** How long to wait for an answer before the publish counts as unanswered. */
  answerBoundMs: number;
  /** How long an HTTP publish is waited for at all. */
  abandonAfterMs: number;
}

const NEVER_ANSWERED = "never answered";
/** The ingress stream and its bound, as docs/publishing.md tells backends to write it. */
export const INGRESS_STREAM = "pusher:ingress";
const INGRESS_MAXLEN = "100000";
const INGRESS_RETRY_MS = 100;
/** The ingress writer's WAIT answers this long before its deadline, so a replica missing is a clear "no". */
const WAIT_MARGIN_MS = 500;
/**
 * The ingress writer's two ways of not getting an entry confirmed by its deadline: WAIT answered
 * without a replica, or no answer at all (on one connection each WAIT holds the next XADDs back).
 */
const NOT_REPLICATED = "not replicated (WAIT 0)";
const NO_REDIS_ANSWER = "not confirmed by the deadline";

function payload(seq: number): FailoverPayload {
  return { seq, sentAt: Date.now() };
}

interface HttpAnswer {
  status: number;
  body: string;
}

function post(url: URL, agent: http.Agent, body: string, boundMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", authorization: `Bearer ${DEV_API_KEY}`, "content-length": Buffer.byteLength(body) },
        signal: AbortSignal.timeout(boundMs),
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/** Publish `seq` goes to channel `seq mod channels`, from source address `seq / channels mod addresses`. */
export function startHttpPublisher(proxyUrl: string, channels: string[], sourceAddresses: string[], rate: PacedRate, firstSeq: number): Paced<FaultPublish> {
  const url = new URL("/v1/publish", proxyUrl);
  const agents = sourceAddresses.map((localAddress) => new http.Agent({ keepAlive: true, localAddress }));
  const issue = async (seq: number): Promise<FaultPublish> => {
    const channel = channels[seq % channels.length]!;
    const agent = agents[Math.floor(seq / channels.length) % agents.length]!;
    const issuedAt = Date.now();
    const base = { seq, path: "http" as const, channel, issuedAt };
    try {
      const answer = await post(url, agent, JSON.stringify({ channel, event: "fault", data: payload(seq) }), rate.abandonAfterMs);
      const answeredAt = Date.now();
      const answered = { ...base, answeredAt, unanswered: answeredAt - issuedAt > rate.answerBoundMs, neverAnswered: false };
      if (answer.status !== 200) return { ...answered, acked: false, error: `HTTP ${answer.status}` };
      const at = (JSON.parse(answer.body) as { offsets?: Record<string, { epoch: string; offset: number }> }).offsets?.[channel];
      // A late 200 still counts as acknowledged: subscribers are owed the message.
      return { ...answered, acked: true, ...(at ? { epoch: at.epoch, offset: at.offset } : {}) };
    } catch (err) {
      const never = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      return { ...base, answeredAt: Date.now(), acked: false, unanswered: never, neverAnswered: never, error: never ? NEVER_ANSWERED : describeError(err) };
    }
  };
  const paced = startPaced(issue, { ...rate, firstSeq });
  return {
    async stop() {
      const records = await paced.stop();
      for (const agent of agents) agent.destroy();
      return records;
    },
  };
}

function withinBound<T>(promise: Promise<T>, boundMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(NO_REDIS_ANSWER), { name: "TimeoutError" })), boundMs);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/**
 * XADDs to the ingress stream on the master Sentinel names. Each entry carries an `id`, as a
 * backend that may retry should, so an XADD resent by the client after a reconnect is delivered
 * once. At `replica` durability the backend also waits for a replica (WAIT 1) before counting the
 * entry as written, as pusher does for its own 200. A failed XADD is retried until the bound.
 */
export function startIngressPublisher(
  sentinels: string,
  name: string,
  channels: string[],
  durability: Durability,
  rate: PacedRate,
  firstSeq: number,
): Paced<FaultPublish> {
  const redis = new Redis({
    sentinels: sentinels.split(",").map((address) => {
      const [host, port] = address.split(":");
      return { host: host!, port: Number(port) };
    }),
    name,
    // Back within the failover's time, as pusher's own clients are (DESIGN §7).
    retryStrategy: () => 100,
    sentinelRetryStrategy: () => 100,
    failoverDetector: true,
    maxRetriesPerRequest: null,
  });
  redis.on("error", () => undefined);
  let stopping = false;
  // ioredis 6's failover detector can end a client that is already reconnecting, for good (pusher
  // restarts its own, src/redis-client/connections.ts): a backend that keeps publishing does the same.
  redis.on("end", () => {
    if (!stopping) setTimeout(() => redis.connect().catch(() => undefined), INGRESS_RETRY_MS);
  });
  /** One XADD (and WAIT, which gives up before `deadline`): undefined once written, else why not. */
  const write = async (message: string, deadline: number): Promise<string | undefined> => {
    // A pipeline, not MULTI: WAIT inside a transaction would not block for the replica.
    const pipeline = redis.pipeline().xadd(INGRESS_STREAM, "MAXLEN", "~", INGRESS_MAXLEN, "*", "message", message);
    // WAIT 0 would block for ever: at least 1 ms.
    if (durability === "replica") pipeline.wait(1, Math.max(1, deadline - Date.now() - WAIT_MARGIN_MS));
    const replies = await pipeline.exec();
    const failed = replies?.find(([err]) => err !== null)?.[0];
    if (replies === null || failed) throw failed ?? new Error("no reply");
    return durability === "leader" || Number(replies[1]?.[1]) >= 1 ? undefined : NOT_REPLICATED;
  };
  const issue = async (seq: number): Promise<FaultPublish> => {
    const channel = channels[seq % channels.length]!;
    const issuedAt = Date.now();
    const base = { seq, path: "ingress" as const, channel, issuedAt };
    const message = JSON.stringify({ channel, event: "fault", data: payload(seq), id: `fault-bench-${seq}` });
    const deadline = issuedAt + rate.answerBoundMs;
    let lastError = "";
    // A backend that gives its entries an id retries a failed XADD until its own deadline: the
    // id makes a second copy harmless. So a client error during a failover is no refusal.
    // Never "unanswered": that is pusher leaving an HTTP publish without an answer. Here Redis
    // answers (or not) and the backend's own deadline decides: an entry not confirmed by then is
    // not acknowledged, as a refused publish is, whatever pusher does with it later.
    const notAcknowledged = (error: string): FaultPublish => ({ ...base, answeredAt: Date.now(), acked: false, unanswered: false, neverAnswered: false, error });
    while (Date.now() < deadline) {
      try {
        const notReplicated = await withinBound(write(message, deadline), deadline - Date.now());
        return notReplicated === undefined ? { ...base, answeredAt: Date.now(), acked: true, unanswered: false, neverAnswered: false } : notAcknowledged(notReplicated);
      } catch (err) {
        if (err instanceof Error && err.name === "TimeoutError") break;
        lastError = describeError(err);
        await sleep(INGRESS_RETRY_MS);
      }
    }
    return notAcknowledged(lastError === "" ? NO_REDIS_ANSWER : `${lastError} until the deadline`);
  };
  const paced = startPaced(issue, { ...rate, firstSeq });
  return {
    async stop() {
      const records = await paced.stop();
      stopping = true;
      redis.disconnect();
      return records;
    },
  };
}
