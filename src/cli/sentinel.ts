import { parseArgs } from "node:util";
import { ConfigError } from "../config/load.js";
import type { RedisSettings } from "../redis-client/connections.js";
import { checkSentinelConfig, readSentinelStatus } from "../redis-client/sentinel-admin.js";
import { PruneError, pruneSentinels } from "../redis-client/sentinel-prune.js";
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIO } from "./io.js";
import { loadConfigOrReport } from "./load-config.js";
import { statusText } from "./sentinel-status-text.js";

/**
 * The redis settings, once some sentinel has named the master of redis.name: without that, the
 * ConfigError (thrown to the caller) says what to change better than any status table could.
 */
async function checkedRedisConfig(io: CliIO): Promise<RedisSettings | undefined> {
  const config = loadConfigOrReport(io);
  if (config !== undefined) await checkSentinelConfig(config.redis);
  return config?.redis;
}

/** `pusher sentinel status [--json]`: exit 1 when no sentinel answers or CKQUORUM fails on any. */
async function sentinelStatus(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } } });
  const redis = await checkedRedisConfig(io);
  if (redis === undefined) return EXIT_FAILED;
  const status = await readSentinelStatus(redis);
  io.out(values.json ? JSON.stringify(status, null, 2) : statusText(status));
  return status.quorumOk ? EXIT_OK : EXIT_FAILED;
}

/** `pusher sentinel prune`: SENTINEL RESET one sentinel at a time; exit 1 when refused or stopped. */
async function sentinelPrune(args: string[], io: CliIO): Promise<number> {
  parseArgs({ args, options: {} });
  const redis = await checkedRedisConfig(io);
  if (redis === undefined) return EXIT_FAILED;
  await pruneSentinels(redis, io.out);
  io.out(`pruned: all ${redis.sentinels.length} sentinels reset and seeing the topology again`);
  return EXIT_OK;
}

/** `pusher sentinel status|prune`, against the sentinels in redis.sentinels. */
export async function sentinelCommand(args: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = args;
  try {
    if (sub === "status") return await sentinelStatus(rest, io);
    if (sub === "prune") return await sentinelPrune(rest, io);
  } catch (err) {
    // ConfigError: from checkSentinelConfig.
    if (err instanceof ConfigError) io.err(`config error: ${err.message}`);
    else if (err instanceof PruneError) io.err(`sentinel prune: ${err.message}`);
    else throw err;
    return EXIT_FAILED;
  }
  throw new UsageError(sub === undefined ? "sentinel needs status or prune" : `unknown sentinel command "${sub}"`);
}
