import { execFile } from "node:child_process";
import { cleanEnv } from "./cli.js";

export interface Run {
  code: number | string;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  timeoutMs?: number;
  cwd?: string;
}

/** Runs a command to its end; a failure is returned, not thrown, so an assertion can show its output. */
export function run(file: string, args: string[], { env = cleanEnv(), input, timeoutMs, cwd }: RunOptions = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { cwd, env, maxBuffer: 16 << 20, timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? err.signal ?? -1) : 0, stdout, stderr: err && !stderr ? String(err) : stderr });
    });
    child.stdin?.end(input);
  });
}

/** A run's exit and output, as an assertion message. */
export const shown = (r: Run): string => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;
