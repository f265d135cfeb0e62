import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, open, readFile } from "node:fs/promises";
import path from "node:path";
import type { TestContext } from "node:test";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { cleanEnv } from "./cli.js";
import { run, shown, type Run, type RunOptions } from "./run-command.js";
import { killAtExit, killGroup, makeTempDir, removeTempDir } from "./scratch.js";
import { withTimeout } from "./with-timeout.js";

/** Where the container sees the host folder `Container.shared`. */
export const SHARED_INSIDE = "/srv/pusher-test";

const BOOT_TIMEOUT_MS = 60_000;
const POWEROFF_TIMEOUT_MS = 30_000;
// What a root shell on the VM would have: no PUSHER_* or NODE_* of the test process.
const INSIDE_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "SYSTEMD_COLORS=0"];

/** A booted Debian with systemd as PID 1, sharing the host's network (its loopback is ours). */
export interface Container {
  /** Runs a command inside, as root with a fresh environment (nsenter into every namespace of its init). */
  exec(args: string[], options?: Omit<RunOptions, "env">): Promise<Run>;
  /** exec(["sh", "-c", script]), asserting exit 0; resolves with its stdout. */
  sh(script: string, options?: Omit<RunOptions, "env">): Promise<string>;
  /** A host folder, bound read-write at SHARED_INSIDE. */
  shared: string;
}

/** The child systemd-nspawn forked, once it is the container's systemd (pid on the host). */
async function containerInit(nspawnPid: number): Promise<number> {
  return retryUntil(
    async () => {
      const children = (await readFile(`/proc/${nspawnPid}/task/${nspawnPid}/children`, "utf8")).trim().split(/\s+/).filter(Boolean).map(Number);
      for (const pid of children) if ((await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim() === "systemd") return pid;
      throw new Error(`systemd-nspawn (pid ${nspawnPid}) has not started systemd yet`);
    },
    { timeoutMs: BOOT_TIMEOUT_MS, intervalMs: 50 },
  );
}

/**
 * Boots `rootfs` with systemd-nspawn: --volatile=overlay (writes go to a tmpfs, the root stays as
 * it is), this host's node at /usr/bin/node (Debian 12's own is 18), the host's network namespace.
 * Resolves once systemd reports the system running. Powered off after the test; SIGKILLed with
 * everything inside if the test process exits first.
 */
export async function bootContainer(t: TestContext, rootfs: string): Promise<Container> {
  // Removed after the power-off, not before: the container writes into `shared` to the end.
  const scratch = await makeTempDir("pusher-nspawn-");
  const shared = path.join(scratch, "shared");
  await mkdir(shared);
  const bootLog = path.join(scratch, "console.log");
  const log = await open(bootLog, "w");
  const nspawn = spawn(
    "systemd-nspawn",
    [
      "--quiet",
      "--boot",
      "--register=no",
      "--keep-unit",
      "--volatile=overlay",
      "--console=read-only",
      `--directory=${rootfs}`,
      `--bind-ro=${process.execPath}:/usr/bin/node`,
      `--bind=${shared}:${SHARED_INSIDE}`,
    ],
    { detached: true, stdio: ["ignore", log.fd, log.fd], env: cleanEnv() },
  );
  await log.close();
  if (nspawn.pid === undefined) {
    const [err] = (await once(nspawn, "error")) as [Error];
    assert.fail(`cannot run systemd-nspawn (${err.message}): apt-get install systemd-container`);
  }
  const nspawnPid = nspawn.pid;
  const forgetNspawn = killAtExit(nspawnPid);
  const exited = new Promise<void>((resolve) => nspawn.once("exit", () => resolve()));
  let forgetInit = (): void => undefined;
  let initPid: number | undefined;
  const consoleTail = async (): Promise<string> => (await readFile(bootLog, "utf8").catch(() => "")).split("\n").slice(-30).join("\n");

  t.after(async () => {
    // SIGTERM makes systemd-nspawn ask the container's systemd to power off, as on a VM.
    if (nspawn.exitCode === null && nspawn.signalCode === null) process.kill(nspawnPid, "SIGTERM");
    await withTimeout(exited, POWEROFF_TIMEOUT_MS, "the container to power off").catch(async (err: unknown) => {
      // Killing a PID namespace's init kills every process in it.
      if (initPid) killGroup(initPid);
      killGroup(nspawnPid);
      await exited;
      throw err;
    });
    forgetInit();
    forgetNspawn();
    await removeTempDir(scratch);
  });

  const exec = (args: string[], options: Omit<RunOptions, "env"> = {}): Promise<Run> => {
    assert.ok(initPid, "the container is booted");
    return run("nsenter", [`--target=${initPid}`, "--all", "env", "-i", ...INSIDE_ENV, ...args], options);
  };
  try {
    initPid = await Promise.race([
      containerInit(nspawnPid),
      exited.then(async () => assert.fail(`systemd-nspawn exited (code ${nspawn.exitCode}, signal ${nspawn.signalCode}) before it booted:\n${await consoleTail()}`)),
    ]);
    // The init leads its own process group (nspawn makes it a session leader).
    forgetInit = killAtExit(initPid);
    // Until systemd listens on its private socket, systemctl cannot even ask: it prints nothing,
    // or "offline" (seen once in CI, 17 s into a boot that then went on).
    const state = await retryUntil(
      async () => {
        const asked = await exec(["systemctl", "is-system-running", "--wait"], { timeoutMs: BOOT_TIMEOUT_MS });
        if (["", "offline"].includes(asked.stdout.trim())) throw new Error(`systemctl is-system-running: ${shown(asked)}`);
        return asked;
      },
      { timeoutMs: BOOT_TIMEOUT_MS, intervalMs: 100 },
    );
    if (state.stdout.trim() !== "running") {
      const failed = await exec(["systemctl", "--failed", "--no-legend"]);
      assert.fail(`the container's systemd is "${state.stdout.trim()}" (${shown(state)}); failed units:\n${failed.stdout}\nconsole:\n${await consoleTail()}`);
    }
  } catch (err) {
    throw new Error(`cannot boot ${rootfs} under systemd-nspawn: ${(err as Error).message}`, { cause: err });
  }
  return {
    exec,
    shared,
    async sh(script, options) {
      const result = await exec(["sh", "-c", script], options);
      assert.equal(result.code, 0, `${script}\n${shown(result)}`);
      return result.stdout;
    },
  };
}
