import path from "node:path";
import { ROOT } from "./root.js";
import { run, type Run } from "./run-command.js";

export { ROOT };
/** The `pusher` command as installed (bin/pusher.js runs dist/). */
export const BIN = path.join(ROOT, "bin/pusher.js");

/** The environment without the caller's PUSHER_* settings, so only what a test sets applies. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PUSHER_") && k !== "NODE_ENV") env[k] = v;
  return { ...env, NODE_ENV: "test", ...extra };
}

/** Runs `pusher <args>` as a real process (asynchronously, so a test server can answer it). */
export function pusher(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return run(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(env) });
}
