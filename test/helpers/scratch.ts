import { once } from "node:events";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";

// What the test process started or made: a failing test must leave neither processes nor folders.
const groups = new Set<number>();
const tempDirs = new Set<string>();
process.once("exit", () => {
  for (const pid of groups) killGroup(pid);
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * SIGKILLs the process group `pid` leads: everything the tests start is spawned `detached`, so a
 * pusher primary with its workers, an nginx master with its workers, or a redis-server. By group,
 * not by pid alone, so children left by a killed leader go too, and a pid the kernel has handed to
 * an unrelated process since is never signalled.
 */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // the whole group is gone
  }
}

/** Kills `pid`'s group if the test process exits first; the returned function forgets it. */
export function killAtExit(pid: number): () => void {
  groups.add(pid);
  return () => groups.delete(pid);
}

/** A fresh folder, removed by `removeTempDir` or when the test process exits. */
export async function makeTempDir(prefix = "pusher-test-"): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** A fresh folder for one test, removed after it. */
export async function tempDir(t: TestContext, prefix?: string): Promise<string> {
  const dir = await makeTempDir(prefix);
  t.after(() => removeTempDir(dir));
  return dir;
}

/** A loopback port nothing listens on right now (it may be taken again at any moment). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
