import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import convict from "convict";
import JSON5 from "json5";
import { createConfig, DEV_API_KEY, DEV_JWT_SECRET, type PusherConfig } from "./schema.js";

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
  const envFile = path.join(configDir, `${env.NODE_ENV ?? "development"}.json`);
  if (existsSync(envFile)) files.push(envFile);
  if (env.PUSHER_CONFIG) {
    if (!existsSync(env.PUSHER_CONFIG)) throw new ConfigError(`PUSHER_CONFIG names ${env.PUSHER_CONFIG}, which does not exist`);
    files.push(path.resolve(env.PUSHER_CONFIG));
  }
  return files;
}

function validateFile(file: string): void {
  const single = createConfig();
  try {
    single.loadFile(file);
    single.validate({ allowed: "strict" });
  } catch (err) {
    throw new ConfigError(`in ${file}: ${(err as Error).message}`);
  }
}

/**
 * Loads defaults, then each file, then PUSHER_* env. Each file is validated on its own first, so an
 * unknown key or bad value is reported with the file it came from.
 */
export function loadConfig(sources: ConfigSources = {}): PusherConfig {
  const env = sources.env ?? process.env;
  const files = configFiles({ ...sources, env });
  files.forEach(validateFile);
  const config = createConfig(env);
  try {
    config.loadFile(files);
    config.validate({ allowed: "strict" });
  } catch (err) {
    throw new ConfigError(`in the environment (PUSHER_* variables): ${(err as Error).message}`);
  }
  const props = config.getProperties();
  if (env.NODE_ENV === "production") refuseDevelopmentSecrets(props);
  return props;
}

function refuseDevelopmentSecrets(config: PusherConfig): void {
  if (config.auth.apiKeys.includes(DEV_API_KEY)) {
    throw new ConfigError("auth.apiKeys still holds the development key; set real keys in PUSHER_API_KEYS or the config file");
  }
  if (config.auth.jwtSecret === DEV_JWT_SECRET) {
    throw new ConfigError("auth.jwtSecret is the development secret; set PUSHER_JWT_SECRET or auth.jwtSecret");
  }
}
