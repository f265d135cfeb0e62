import { ConfigError, loadConfig } from "../config/load.js";
import type { PusherConfig } from "../config/schema.js";
import type { CliIO } from "./io.js";

/** The configuration as `start` would load it, or undefined after printing the config error. */
export function loadConfigOrReport(io: CliIO): PusherConfig | undefined {
  try {
    return loadConfig({ env: io.env });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`config error: ${err.message}`);
    return undefined;
  }
}
