/** What every bench entry point shares: how it ends, and how it names the machine it ran on. */
import os from "node:os";

export function logLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function cpuAndMemory(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
  const memGiB = (os.totalmem() / 2 ** 30).toFixed(0);
  return `${os.availableParallelism()} CPUs (${cpu}), ${memGiB} GiB, Linux ${os.release()}, Node ${process.version}`;
}

/**
 * Runs `main` and exits with its code. Exits through process.exit, also on SIGINT/SIGTERM, so the
 * exit hooks kill, by PID, the servers, proxies and Redis nodes a bench started: the signal's
 * default action would skip them and leave the detached processes running.
 */
export function runMain(main: () => Promise<number>): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      logLine(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
