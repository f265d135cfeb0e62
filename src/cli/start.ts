/**
 * `pusher start`: runs the server in this process. dist/src/main.js decides primary or worker
 * itself; the primary forks its workers from main.js, not through this command.
 */
export async function startServer(): Promise<void> {
  // Resolved at run time from dist/src/cli, so the CLI builds even before main.ts exists.
  const entry = new URL("../main.js", import.meta.url);
  await import(entry.href);
}
