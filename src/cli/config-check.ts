import path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, configFiles, loadConfig } from "../config/load.js";
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIO } from "./io.js";
import { summarizeConfig } from "./summary.js";

/**
 * `pusher config check [file]`: loads the configuration exactly as `start` would (a file given is
 * read as PUSHER_CONFIG) and prints it, secrets redacted. Meant for systemd's ExecStartPre.
 */
export function configCheck(args: string[], io: CliIO): number {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length > 1) throw new UsageError("config check takes at most one file");
  const file = positionals[0];
  const env = file === undefined ? io.env : { ...io.env, PUSHER_CONFIG: path.resolve(file) };
  try {
    const config = loadConfig({ env });
    const files = configFiles({ env });
    io.out("config OK");
    io.out(`  NODE_ENV: ${env.NODE_ENV ?? "(unset: development)"}`);
    io.out(`  files: ${files.length > 0 ? files.join(", ") : "(none: defaults and environment only)"}`);
    io.out(summarizeConfig(config).join("\n"));
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`config error: ${err.message}`);
    return EXIT_FAILED;
  }
}
