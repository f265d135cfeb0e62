import { createHmac } from "node:crypto";

export const SIGNATURE_HEADER = "x-pusher-signature";

/** The X-Pusher-Signature value: `sha256=` and the hex HMAC-SHA256 of the exact body bytes. */
export function signWebhookBody(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}
