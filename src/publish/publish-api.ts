import type { IncomingMessage, ServerResponse } from "node:http";
import type { Broker, PublishRequest } from "../broker/broker.js";
import { readJsonBody } from "../http/read-body.js";
import { sendJson } from "../http/responses.js";
import type { RouteHandler } from "../http/router.js";
import { PusherError } from "../protocol/errors.js";
import { batchBodySchema } from "../protocol/messages.js";
import { parseInput } from "../protocol/validate.js";
import type { RateLimit } from "../ops/rate-limit.js";
import type { ApiKeys } from "./api-keys.js";
import { BATCH_ENVELOPE_DEPTH, ENVELOPE_BYTES, PUBLISH_ENVELOPE_DEPTH, publishRequestFrom, type PayloadLimits } from "./publish-request.js";

export interface PublishApiDeps {
  broker: Broker;
  apiKeys: ApiKeys;
  keyRate: RateLimit;
  limits: PayloadLimits;
  maxBatchMessages: number;
  /** Called once per broker call with how long it took: publishes wait for the broker during a failover. */
  onPublished(result: "ok" | "error", count: number, seconds: number): void;
}

/** POST /v1/publish and POST /v1/batch (DESIGN §4). */
export function createPublishApi(deps: PublishApiDeps): { publish: RouteHandler; batch: RouteHandler } {
  const publish = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const arrivedAt = Date.now();
    const key = deps.apiKeys.authenticate(req);
    const { limits } = deps;
    const raw = await readJsonBody(req, limits.maxPayloadBytes + ENVELOPE_BYTES, limits.maxPayloadDepth, PUBLISH_ENVELOPE_DEPTH);
    const request = publishRequestFrom(raw, limits);
    await deps.keyRate.take(key);
    const [outcome] = await sendToBroker(deps, [request], arrivedAt);
    if (!outcome) throw new Error("the broker answered no outcome for the publish");
    if (!outcome.ok) throw outcome.error;
    sendJson(res, 200, { offsets: outcome.offsets });
  };

  const batch = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const arrivedAt = Date.now();
    const key = deps.apiKeys.authenticate(req);
    const { limits } = deps;
    const raw = await readJsonBody(req, deps.maxBatchMessages * (limits.maxPayloadBytes + ENVELOPE_BYTES), limits.maxPayloadDepth, BATCH_ENVELOPE_DEPTH);
    const { messages } = parseInput(batchBodySchema, raw);
    if (messages.length > deps.maxBatchMessages) throw new PusherError("invalid_request", `messages: at most ${deps.maxBatchMessages} per batch (publish.maxBatchMessages)`);
    // A message refused is answered in its own result; a defect fails the request, whose 500 the
    // router logs with its cause (a 500 inside a 200 would be logged by nobody).
    const parsed = messages.map((m) => {
      try {
        return publishRequestFrom(m, limits);
      } catch (err) {
        if (err instanceof PusherError) return err;
        throw err;
      }
    });
    const valid = parsed.filter((p): p is PublishRequest => !(p instanceof Error));
    await deps.keyRate.take(key, Math.max(1, valid.length));
    const outcomes = valid.length > 0 ? await sendToBroker(deps, valid, arrivedAt) : [];
    if (outcomes.length !== valid.length) throw new Error(`the broker answered ${outcomes.length} outcomes for ${valid.length} publishes`);
    let next = 0;
    const results = parsed.map((p) => {
      if (p instanceof PusherError) return { ok: false, status: p.status, error: p.toBody() };
      const outcome = outcomes[next++]!;
      return outcome.ok ? { ok: true, offsets: outcome.offsets } : { ok: false, status: outcome.error.status, error: outcome.error.toBody() };
    });
    sendJson(res, 200, { results });
  };

  return { publish, batch };
}

/** `arrivedAt`: publish.timeoutMs counts from the request's arrival, body reading and rate limits included. */
async function sendToBroker(deps: PublishApiDeps, requests: PublishRequest[], arrivedAt: number) {
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  try {
    const outcomes = await deps.broker.publish(requests, arrivedAt);
    deps.onPublished("ok", requests.length, seconds());
    return outcomes;
  } catch (err) {
    deps.onPublished("error", requests.length, seconds());
    throw err;
  }
}
