/** What a command may touch, passed in so commands run the same under a test as from a shell. */
export interface CliIO {
  env: NodeJS.ProcessEnv;
  out(text: string): void;
  err(text: string): void;
}

/** Exit codes: 0 done, 1 the command ran and failed (bad config, publish refused), 2 misuse. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A command line the CLI cannot run; printed with the usage, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The process's own IO: stdout, stderr and env. */
export function processIO(): CliIO {
  return {
    env: process.env,
    out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
  };
}
