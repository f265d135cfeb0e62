import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import convict from "convict";
import JSON5 from "json5";
import { envNames } from "./doc.js";
import { explainValidation, inSource } from "./messages.js";
import { createConfig, DEV_API_KEY, DEV_JWT_SECRET, DEV_WEBHOOK_SECRET, type PusherConfig } from "./schema.js";

// Comments make config/production.json an annotated example, so .json files are read as JSON5.
convict.addParser({ extension: "json", parse: JSON5.parse });

/** The installation folder (holds config/), whether we run from dist/ or an installed package. */
export const APP_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** A configuration problem, phrased for the operator: the key, the file or env name, the fix. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  /** Folder holding <NODE_ENV>.json; defaults to the installation's config/. */
  configDir?: string;
}

/** The files read, in order of precedence (later wins): config/<NODE_ENV>.json, then $PUSHER_CONFIG. */
export function configFiles({ env = process.env, configDir = path.join(APP_ROOT, "config") }: ConfigSources = {}): string[] {
  const files: string[] = [];
  const envFile = path.resolve(configDir, `${env.NODE_ENV ?? "development"}.json`);
  if (existsSync(envFile)) files.push(envFile);
  if (env.PUSHER_CONFIG) {
    if (!existsSync(env.PUSHER_CONFIG)) throw new ConfigError(`PUSHER_CONFIG names ${env.PUSHER_CONFIG}, which does not exist`);
    const named = path.resolve(env.PUSHER_CONFIG);
    if (!files.includes(named)) files.push(named);
  }
  return files;
}

function validateFile(file: string): void {
  const single = createConfig();
  try {
    single.loadFile(file);
    single.validate({ allowed: "strict" });
  } catch (err) {
    throw new ConfigError(inSource(file, explainValidation((err as Error).message)));
  }
}

/** Validates the PUSHER_* variables over the defaults alone, so an error is theirs and names them. */
function validateEnv(env: NodeJS.ProcessEnv): void {
  try {
    createConfig(env).validate({ allowed: "strict" });
  } catch (err) {
    throw new ConfigError(inSource("the environment", explainValidation((err as Error).message, envNames())));
  }
}

/**
 * Loads defaults, then each file, then PUSHER_* env. Each source is validated on its own first, so an
 * unknown key or bad value is reported with the file or env variable it came from.
 */
export function loadConfig(sources: ConfigSources = {}): PusherConfig {
  const env = sources.env ?? process.env;
  const files = configFiles({ ...sources, env });
  files.forEach(validateFile);
  validateEnv(env);
  const config = createConfig(env);
  try {
    config.loadFile(files);
    config.validate({ allowed: "strict" });
  } catch (err) {
    // Unreachable while every source validates alone; kept so a merge problem still names its sources.
    throw new ConfigError(inSource([...files, "the environment"].join(" + "), explainValidation((err as Error).message, envNames())));
  }
  const props = config.getProperties();
  checkConsistency(props, files);
  if (env.NODE_ENV === "production") refuseDevelopmentSecrets(props);
  return props;
}

/** Rules that span keys, which convict's per-key formats cannot express. */
function checkConsistency(config: PusherConfig, files: string[]): void {
  if (config.redis.mode === "sentinel" && config.redis.sentinels.length === 0) {
    const where = files.length > 0 ? files.join(", ") + " or the environment" : "the environment";
    throw new ConfigError(`redis.mode is "sentinel" but redis.sentinels is empty (from ${where}); list them in PUSHER_REDIS_SENTINELS ("host:port,host:port") or redis.sentinels`);
  }
}

function refuseDevelopmentSecrets(config: PusherConfig): void {
  if (config.auth.apiKeys.includes(DEV_API_KEY)) {
    throw new ConfigError("NODE_ENV=production refuses the development key in auth.apiKeys; set real keys in PUSHER_API_KEYS (e.g. /etc/pusher/pusher.env) or auth.apiKeys");
  }
  if (config.auth.jwtSecret === DEV_JWT_SECRET) {
    throw new ConfigError("NODE_ENV=production refuses the development secret in auth.jwtSecret; set PUSHER_JWT_SECRET (e.g. /etc/pusher/pusher.env) or auth.jwtSecret");
  }
  // Only while webhooks are on: a deployment without them has nothing to sign.
  if (config.webhooks.urls.length > 0 && config.webhooks.secret === DEV_WEBHOOK_SECRET) {
    throw new ConfigError("NODE_ENV=production refuses the development secret in webhooks.secret while webhooks.urls is set; set PUSHER_WEBHOOK_SECRET (e.g. /etc/pusher/pusher.env) or webhooks.secret");
  }
}
