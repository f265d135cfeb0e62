import { errors, jwtVerify, type JWTPayload } from "jose";
import { needsToken } from "../protocol/channels.js";
import { PusherError } from "../protocol/errors.js";
import { isPresenceChannel, tokenUserSchema, type PresenceUser } from "../protocol/presence.js";

/** What a granted subscription carries: the presence user, on presence channels. */
export interface Grant {
  user?: PresenceUser;
}

/**
 * Decides whether a token grants a channel. Private and presence channels need an HS256 JWT whose
 * `channel` claim names the channel or whose `channels` claim lists it; `exp` is checked when set.
 * On presence channels the token must also carry `user: { id, info? }`, info at most
 * `maxInfoBytes` of JSON.
 */
export class ChannelAuthorizer {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly maxInfoBytes: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async authorize(channel: string, token: string | undefined): Promise<Grant> {
    if (!needsToken(channel)) return {};
    if (token === undefined) throw new PusherError("forbidden", `channel ${channel} needs a token (subscribe with { token } or connect with auth.token)`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ["HS256"] }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new PusherError("forbidden", "the token has expired");
      throw new PusherError("forbidden", "the token is not valid (HS256, signed with auth.jwtSecret)");
    }
    const listed = Array.isArray(payload.channels) && payload.channels.includes(channel);
    if (payload.channel !== channel && !listed) throw new PusherError("forbidden", `the token does not name channel ${channel}`);
    if (!isPresenceChannel(channel)) return {};
    const user = this.userOf(payload);
    if (!user) throw new PusherError("presence_user_required");
    return { user };
  }

  /** The user a connection's `auth.token` names (`user.id`), if it is a valid token that names one. */
  async connectionUser(token: string | undefined): Promise<string | undefined> {
    if (token === undefined) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ["HS256"] });
      return tokenUserSchema.safeParse(payload.user).data?.id;
    } catch {
      return undefined;
    }
  }

  private userOf(payload: JWTPayload): PresenceUser | undefined {
    const parsed = tokenUserSchema.safeParse(payload.user);
    if (!parsed.success) return undefined;
    const info = parsed.data.info === undefined ? "" : JSON.stringify(parsed.data.info);
    if (Buffer.byteLength(info) > this.maxInfoBytes) return undefined;
    return { id: parsed.data.id, info };
  }
}
