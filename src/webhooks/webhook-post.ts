import type { WebhookEvent } from "./webhook-events.js";
import { SIGNATURE_HEADER, signWebhookBody } from "./webhook-signature.js";

/** One event as posted: what happened, without when it was recorded. */
export type PostedEvent = Pick<WebhookEvent, "name" | "channel" | "user_id">;

/** The body of every webhook post (docs/publishing.md, "Webhooks"). */
export interface WebhookBody {
  time_ms: number;
  events: PostedEvent[];
}

export type PostOutcome = { ok: true } | { ok: false; reason: string };

/** The body for `events`, with only the fields the contract names. */
export function webhookBody(events: readonly WebhookEvent[], now = Date.now()): string {
  const body: WebhookBody = {
    time_ms: now,
    // A Lua recorder may encode an absent user_id as null: only a string is posted.
    events: events.map(({ name, channel, user_id }) => (typeof user_id === "string" ? { name, channel, user_id } : { name, channel })),
  };
  return JSON.stringify(body);
}

/** Posts one signed batch; only a 2xx before `signal` aborts (the request timeout) acknowledges it. */
export async function postWebhook(url: string, events: readonly WebhookEvent[], secret: string, signal: AbortSignal): Promise<PostOutcome> {
  const body = webhookBody(events);
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: signWebhookBody(body, secret) },
      body,
      redirect: "manual",
      signal,
    });
    // The connection is kept alive for the next post only once the answer is read.
    await res.arrayBuffer().catch(() => undefined);
    return res.status >= 200 && res.status < 300 ? { ok: true } : { ok: false, reason: `answered ${res.status}` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, reason: cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)) };
  }
}

/** The URL as logs show it: no credentials or query string, which may carry tokens. */
export function urlForLogs(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}
