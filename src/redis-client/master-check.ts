import { isIP } from "node:net";
import type { Redis } from "ioredis";
import type { Logger } from "../ops/logger.js";
import { parseAddress, serverAddress, type RedisSettings } from "./connections.js";
import { masterView, withAdmin, type MasterView } from "./sentinel-commands.js";

/**
 * Checks whether a client that just connected reached the master: resolves with the address the
 * sentinels name instead when it did not (then reconnect), or undefined when it did.
 */
export type MasterCheck = (client: Redis) => Promise<string | undefined>;

/**
 * In sentinel mode ioredis trusts the first sentinel that answers. Right after a failover that one
 * may not have switched yet (the others learn the new master from the leader, up to a second
 * later), and a hung master that wakes up still calls itself master until Sentinel demotes it:
 * writes taken there are lost. So a connection counts only when it reached the master named by the
 * sentinel with the newest configuration (the highest config epoch, as Sentinel itself decides).
 * When no sentinel answers the connection stands, so a sentinel outage never stops publishing.
 */
export function newestSentinelViewCheck(settings: RedisSettings): MasterCheck {
  return async (client) => {
    const connected = serverAddress(client);
    if (connected === undefined) return undefined;
    const views = await Promise.all(
      settings.sentinels.map((sentinel) => withAdmin(sentinel, settings.sentinelPassword, (c) => masterView(c, settings.name)).catch(() => null)),
    );
    const newest = newestView(views.filter((v): v is MasterView => v !== null));
    return !newest || sameServer(newest.address, connected) ? undefined : newest.address;
  };
}

/**
 * The highest config epoch wins. The failover leader takes the new epoch when it promotes the
 * replica but switches the address only once the other replicas are reconfigured, while the
 * sentinels that hear the promoted replica switch at once: so among equal epochs a view still in
 * a failover, or naming a master it sees down, is the stale one.
 */
function newestView(views: MasterView[]): MasterView | undefined {
  const settled = (v: MasterView): number => (v.flags.some((f) => f === "failover_in_progress" || f === "s_down" || f === "o_down") ? 0 : 1);
  return [...views].sort((a, b) => b.configEpoch - a.configEpoch || settled(b) - settled(a))[0];
}

/** Sentinel may announce a hostname where the socket shows an IP: then only the port can be compared. */
function sameServer(announced: string, connected: string): boolean {
  const sentinel = parseAddress(announced);
  const socket = parseAddress(connected);
  return sentinel.port === socket.port && (isIP(sentinel.host) === 0 || sentinel.host === socket.host.replace(/^::ffff:/, ""));
}

/**
 * True when `client` reached the master (or there is no check, outside sentinel mode). Otherwise
 * drops the connection, so ioredis reconnects through Sentinel, and resolves false once it has
 * closed: a second disconnect while ioredis is reconnecting would abort that reconnect and leave
 * the client connecting for ever.
 */
export async function onTheMaster(client: Redis, check: MasterCheck | undefined, logger: Logger): Promise<boolean> {
  const master = await check?.(client);
  if (master === undefined) return true;
  logger.warn({ connected: serverAddress(client), master }, "connected to a server the sentinels no longer call master; reconnecting");
  const closed = new Promise((resolve) => client.once("close", resolve));
  client.disconnect(true);
  await closed;
  return false;
}
