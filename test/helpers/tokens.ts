import { SignJWT } from "jose";

import { DEV_JWT_SECRET } from "../../src/config/schema.js";

/** Signs a channel token as a backend would (HS256, `channel` or `channels` claim). */
export function channelToken(claims: Record<string, unknown>, options: { secret?: string; expiresAt?: number } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 600)
    .sign(new TextEncoder().encode(options.secret ?? DEV_JWT_SECRET));
}
