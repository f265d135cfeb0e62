/** Request/answer over a forked child's IPC channel, and closing a set of children for good. */
import type { ChildProcess } from "node:child_process";

/** Sends `command` and waits for the child's first event of `type`; rejects on timeout or exit. */
function askChild<E extends { type: string }, T extends E["type"]>(
  child: ChildProcess,
  command: unknown,
  type: T,
  timeoutMs: number,
): Promise<Extract<E, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`child process ${child.pid} gave no "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (event: E): void => {
      if (event.type !== type) return;
      cleanup();
      resolve(event as Extract<E, { type: T }>);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`child process ${child.pid} exited (${code}) before "${type}"`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.send(command as object);
  });
}

/** Sends each child its command and waits for one event of `type` from every child, in child order. */
export function askEach<E extends { type: string }, T extends E["type"]>(
  children: ChildProcess[],
  type: T,
  timeoutMs: number,
  command: (index: number) => unknown,
): Promise<Extract<E, { type: T }>[]> {
  return Promise.all(children.map((child, index) => askChild<E, T>(child, command(index), type, timeoutMs)));
}

/** Asks every child to close and waits (bounded) for them to exit, then kills the stragglers. */
export async function closeChildren(children: ChildProcess[], closeCommand: object, graceMs = 5_000): Promise<void> {
  const exits = children.map(
    (child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve()))),
  );
  for (const child of children) if (child.connected) child.send(closeCommand);
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
  await Promise.race([Promise.all(exits), deadline]);
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
