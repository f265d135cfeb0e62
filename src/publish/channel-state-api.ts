import type { IncomingMessage, ServerResponse } from "node:http";
import type { Broker } from "../broker/broker.js";
import { sendJson } from "../http/responses.js";
import type { Routes } from "../http/router.js";
import { isValidChannel } from "../protocol/channels.js";
import { PusherError } from "../protocol/errors.js";
import { isPresenceChannel } from "../protocol/presence.js";
import type { RateLimit } from "../ops/rate-limit.js";
import type { ChannelStateBackend } from "../state/backend.js";
import type { ApiKeys } from "./api-keys.js";

export interface ChannelStateApiDeps {
  broker: Broker;
  state: ChannelStateBackend;
  apiKeys: ApiKeys;
  keyRate: RateLimit;
}

const DEFAULT_LIST_LIMIT = 1000;
const MAX_LIST_LIMIT = 10_000;
const MAX_USER_ID_LENGTH = 128;

/**
 * The channel state API (DESIGN §4, docs/publishing.md "Channel state"): occupied channels,
 * one channel's counts and head, a presence channel's members, and disconnecting a user on every host.
 */
export function channelStateRoutes(deps: ChannelStateApiDeps): Routes {
  const authorised = async (req: IncomingMessage): Promise<URL> => {
    await deps.keyRate.take(deps.apiKeys.authenticate(req));
    return new URL(req.url ?? "/", "http://pusher");
  };

  const list = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = await authorised(req);
    const prefix = url.searchParams.get("prefix") ?? "";
    if (prefix !== "" && !isValidChannel(prefix)) throw new PusherError("invalid_request", "prefix: 1-200 channel name characters (A-Z a-z 0-9 _ - = @ , . ; :)");
    const limit = listLimit(url.searchParams.get("limit"));
    const channels = await deps.state.channels(prefix, limit);
    sendJson(res, 200, { channels });
  };

  const channel = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = await authorised(req);
    const [name, what, ...rest] = url.pathname.slice("/v1/channels/".length).split("/").map(decodePart);
    if (!isValidChannel(name)) throw new PusherError("invalid_channel");
    if (rest.length > 0 || (what !== undefined && what !== "members")) throw new PusherError("not_found");
    if (what === "members") {
      if (!isPresenceChannel(name)) throw new PusherError("invalid_request", "channel: members are kept for presence-* channels only");
      sendJson(res, 200, { channel: name, members: await deps.state.members(name) });
      return;
    }
    const [counts, history] = await Promise.all([deps.state.channel(name), deps.broker.history(name)]);
    sendJson(res, 200, {
      channel: name,
      occupied: counts.subscribers > 0,
      subscribers: counts.subscribers,
      ...(isPresenceChannel(name) ? { members: counts.members } : {}),
      head: history.head,
    });
  };

  const disconnect = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = await authorised(req);
    const match = /^\/v1\/users\/([^/]+)\/disconnect$/.exec(url.pathname);
    if (!match) throw new PusherError("not_found");
    const user = decodePart(match[1]!);
    if (user.length > MAX_USER_ID_LENGTH) throw new PusherError("invalid_request", `user id: at most ${MAX_USER_ID_LENGTH} characters`);
    await deps.state.broadcast({ t: "disconnect_user", user });
    sendJson(res, 200, { ok: true });
  };

  return {
    "/v1/channels": { GET: list },
    "/v1/channels/*": { GET: channel },
    "/v1/users/*": { POST: disconnect },
  };
}

function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new PusherError("invalid_request", "the path is not valid percent-encoding");
  }
}

function listLimit(raw: string | null): number {
  if (raw === null) return DEFAULT_LIST_LIMIT;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw new PusherError("invalid_request", `limit: a whole number from 1 to ${MAX_LIST_LIMIT}`);
  return limit;
}
