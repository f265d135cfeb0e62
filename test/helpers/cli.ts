import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT } from "./root.js";

export { ROOT };
/** The `pusher` command as installed (bin/pusher.js runs dist/). */
export const BIN = path.join(ROOT, "bin/pusher.js");

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without the caller's PUSHER_* settings, so only what a test sets applies. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PUSHER_") && k !== "NODE_ENV") env[k] = v;
  return { ...env, NODE_ENV: "test", ...extra };
}

/** Runs `pusher <args>` as a real process (asynchronously, so a test server can answer it). */
export function pusher(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
