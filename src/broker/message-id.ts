import { randomBytes } from "node:crypto";

const ID_BYTES = 12;
/** Random bytes drawn per refill: one call to the CSPRNG per ~340 ids instead of one per message. */
const POOL_BYTES = ID_BYTES * 341;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * A message id for a publish that came without one: 96 random bits in 16 base64url characters,
 * short because every frame carries it, and far past any collision inside a dedup window.
 */
export function mintMessageId(): string {
  if (used + ID_BYTES > pool.length) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  used += ID_BYTES;
  return pool.toString("base64url", used - ID_BYTES, used);
}
