import { randomBytes } from "node:crypto";

/**
 * A message id for a publish that came without one: 96 random bits in 16 base64url characters,
 * short because every frame carries it, and far past any collision inside a dedup window.
 */
export function mintMessageId(): string {
  return randomBytes(12).toString("base64url");
}
