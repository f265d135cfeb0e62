import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { access, chmod, mkdir, mkdtemp, rename } from "node:fs/promises";
import path from "node:path";
import { cleanEnv } from "./cli.js";
import { run, shown } from "./run-command.js";

// A Debian 12 root with systemd as init, for booting with systemd-nspawn (test/helpers/nspawn.ts).
// debootstrap takes 45 s to 2 min here, so the root is kept under /var/cache, outside the clone,
// keyed by what it was made from: a change of the list below makes a new one. Containers boot it
// with --volatile=overlay, so the cached root is never written.
const SUITE = "bookworm";
const VARIANT = "minbase";
// systemd-sysv makes systemd /sbin/init; dbus serves systemctl; logrotate checks the shipped config.
const PACKAGES = ["systemd", "systemd-sysv", "dbus", "logrotate"];
const MIRROR = process.env.PUSHER_TEST_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const CACHE = process.env.PUSHER_TEST_ROOTFS_CACHE ?? "/var/cache/pusher-test";
const DEBOOTSTRAP_TIMEOUT_MS = 600_000;

const exists = (file: string): Promise<boolean> => access(file).then(() => true, () => false);

/** The cached root, made by debootstrap first if it is missing. */
export async function debianRootfs(): Promise<string> {
  const key = createHash("sha256").update(JSON.stringify([SUITE, VARIANT, PACKAGES])).digest("hex").slice(0, 12);
  const root = path.join(CACHE, `debian-${SUITE}-${key}`);
  // Only a complete root is ever renamed to this name.
  if (await exists(root)) return root;

  await mkdir(CACHE, { recursive: true });
  const partial = await mkdtemp(path.join(CACHE, `.debian-${SUITE}-${key}-`));
  try {
    // It becomes the container's "/": mkdtemp's 0700 would lock every user but root out.
    await chmod(partial, 0o755);
    const made = await run("debootstrap", [`--variant=${VARIANT}`, `--include=${PACKAGES.join(",")}`, SUITE, partial, MIRROR], {
      env: cleanEnv({ PATH: `${process.env.PATH}:/usr/sbin:/sbin` }),
      timeoutMs: DEBOOTSTRAP_TIMEOUT_MS,
    });
    assert.equal(made.code, 0, `debootstrap of Debian ${SUITE} from ${MIRROR} (apt-get install debootstrap) failed:\n${shown(made).slice(-4000)}`);
    // A concurrent run may have finished first: then its root serves, and ours goes.
    await rename(partial, root).catch(async (err: unknown) => {
      if (!(await exists(root))) throw err;
    });
  } finally {
    // --one-file-system: a failed debootstrap can leave the host's /dev bound inside its target.
    await run("rm", ["-rf", "--one-file-system", partial]);
  }
  return root;
}
