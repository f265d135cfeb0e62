import { errors, jwtVerify } from "jose";
import { needsToken } from "../protocol/channels.js";
import { PusherError } from "../protocol/errors.js";

/**
 * Decides whether a token grants a channel. Private and presence channels need an HS256 JWT whose
 * `channel` claim names the channel or whose `channels` claim lists it; `exp` is checked when set.
 */
export class ChannelAuthorizer {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  async authorize(channel: string, token: string | undefined): Promise<void> {
    if (!needsToken(channel)) return;
    if (token === undefined) throw new PusherError("forbidden", `channel ${channel} needs a token (subscribe with { token } or connect with auth.token)`);
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ["HS256"] }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new PusherError("forbidden", "the token has expired");
      throw new PusherError("forbidden", "the token is not valid (HS256, signed with auth.jwtSecret)");
    }
    const listed = Array.isArray(payload.channels) && payload.channels.includes(channel);
    if (payload.channel !== channel && !listed) throw new PusherError("forbidden", `the token does not name channel ${channel}`);
  }
}
