import assert from "node:assert/strict";
import { access, chmod, constants, copyFile, mkdir, readdir, readFile, readlink, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import test from "node:test";
import { cleanEnv, ROOT } from "../helpers/cli.js";
import { startPusher } from "../helpers/pusher.js";
import { buildRelease } from "../helpers/release.js";
import { run, shown, type Run } from "../helpers/run-command.js";
import { tempDir } from "../helpers/scratch.js";

// Packaging as an operator gets it: scripts/package.sh builds the tarball and the .deb from this
// checkout's build (only reading its dist/ and node_modules/), the .deb is installed into a
// throwaway root with `dpkg --root --force-script-chrootless` (the maintainer scripts run on this
// host with DPKG_ROOT set), and the installed unit is checked by `systemd-analyze verify --root`.

const UNIT = "pusher.service";
const PRODUCTION_ENV = {
  NODE_ENV: "production",
  PUSHER_API_KEYS: "package-test-api-key",
  PUSHER_JWT_SECRET: "package-test-jwt-secret-0123456789abcdef",
};

function exists(file: string): Promise<boolean> {
  return access(file).then(() => true, () => false);
}

/**
 * Copies the host's targets into `root`, so that under --root the unit's default dependencies
 * (sysinit.target, basic.target, ...) and its WantedBy= resolve as on a real system.
 */
async function addSystemdTargets(root: string): Promise<void> {
  let from: string | undefined;
  for (const dir of ["/usr/lib/systemd/system", "/lib/systemd/system"]) if (!from && (await exists(path.join(dir, "sysinit.target")))) from = dir;
  assert.ok(from, "systemd's targets are installed (Debian package systemd)");
  const to = path.join(root, "usr/lib/systemd/system");
  await mkdir(to, { recursive: true });
  for (const name of await readdir(from)) if (name.endsWith(".target")) await copyFile(path.join(from, name), path.join(to, name));
}

/** `systemd-analyze verify` of the unit as found under `root`; it checks that Exec*= paths exist there. */
async function verifyUnit(root: string): Promise<void> {
  const verify = await run("systemd-analyze", ["verify", `--root=${root}`, UNIT]);
  assert.equal(verify.code, 0, shown(verify));
  // Unknown keys and bad values are only warnings: any line about the unit is a failure.
  assert.doesNotMatch(verify.stdout + verify.stderr, /pusher\.service/, shown(verify));
}

test("systemd/pusher.service passes systemd-analyze verify", async (t) => {
  const root = await tempDir(t, "pusher-unit-");
  await addSystemdTargets(root);
  const text = await readFile(path.join(ROOT, "systemd", UNIT), "utf8");
  await mkdir(path.join(root, "etc/systemd/system"), { recursive: true });
  await writeFile(path.join(root, "etc/systemd/system", UNIT), text);
  // Every program the unit runs must exist and be executable under the root: stand-ins do.
  const programs = [...text.matchAll(/^Exec\w+=[-@:+!]*(\/\S+)/gm)].map((m) => m[1]!);
  assert.ok(programs.length >= 2, "ExecStartPre= and ExecStart=");
  for (const program of programs) {
    await mkdir(path.join(root, path.dirname(program)), { recursive: true });
    await writeFile(path.join(root, program), "#!/bin/sh\n");
    await chmod(path.join(root, program), 0o755);
  }
  await verifyUnit(root);
});

test("systemd/pusher.logrotate is a logrotate config that rotates /var/log/pusher/*.log", async (t) => {
  const dir = await tempDir(t, "pusher-logrotate-");
  // `su pusher pusher` needs the user to exist on this host: check the rest as root.
  const config = path.join(dir, "pusher");
  await writeFile(config, (await readFile(path.join(ROOT, "systemd/pusher.logrotate"), "utf8")).replace(/^(\s*su) pusher pusher$/m, "$1 root root"));
  const debug = await run("logrotate", ["--debug", "--state", path.join(dir, "state"), config], { env: cleanEnv({ PATH: `${process.env.PATH}:/usr/sbin:/sbin` }) });
  assert.equal(debug.code, 0, shown(debug));
  assert.doesNotMatch(debug.stderr, /^error:/m, shown(debug));
  assert.match(debug.stderr + debug.stdout, /rotating pattern: \/var\/log\/pusher\/\*\.log/, shown(debug));
});

test("scripts/package.sh builds the tarball and a .deb that installs, verifies and passes config check", { timeout: 180_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, "installing a .deb into a throwaway root (ownership, the pusher user) needs root, as in CI");
  const out = await tempDir(t, "pusher-package-");
  const { version, tarball, deb } = await buildRelease(out);
  assert.deepEqual((await readdir(out)).sort(), [path.basename(tarball), path.basename(deb)].sort(), "the two artifacts, and no scratch left");

  await t.test("the tarball holds the server, its production dependencies and the operator files, no tests", async () => {
    const listing = await run("tar", ["-tzf", tarball]);
    assert.equal(listing.code, 0, shown(listing));
    const top = `pusher-${version}/`;
    const files = new Set(listing.stdout.split("\n"));
    for (const file of [
      "dist/src/main.js",
      "dist/src/cli/main.js",
      "bin/pusher.js",
      "ecosystem.config.js",
      "config/production.json",
      "systemd/pusher.service",
      "nginx/pusher.conf",
      "package-lock.json",
      "node_modules/socket.io/package.json",
      "node_modules/pm2/package.json",
      "node_modules/.bin/pm2-runtime",
    ]) {
      assert.ok(files.has(top + file), `${file} is in the tarball`);
    }
    for (const absent of ["dist/test/", "dist/bench/", "node_modules/typescript/", "node_modules/esbuild/"]) {
      assert.ok(![...files].some((f) => f.startsWith(top + absent)), `${absent} is not in the tarball`);
    }
  });

  const root = await tempDir(t, "pusher-root-");
  const dpkg = (...args: string[]): Promise<Run> =>
    // useradd lives in /usr/sbin, which a non-login PATH may lack.
    run("dpkg", [`--root=${root}`, "--force-script-chrootless", ...args], { env: cleanEnv({ PATH: `${process.env.PATH}:/usr/sbin:/sbin` }) });
  const inRoot = (file: string): string => path.join(root, file);
  const accounts = async (file: string): Promise<string[]> => (await readFile(inRoot(file), "utf8")).split("\n").filter((l) => l.startsWith("pusher:"));
  const conffile = inRoot("etc/pusher/production.json");
  const configCheck = (env: Record<string, string>): Promise<Run> =>
    run(inRoot("opt/pusher/bin/pusher.js"), ["config", "check", conffile], { env: cleanEnv(env) });

  // What dpkg needs of a fresh system: its database and the account files useradd edits.
  await mkdir(inRoot("var/lib/dpkg/updates"), { recursive: true });
  await mkdir(inRoot("var/lib/dpkg/info"), { recursive: true });
  await writeFile(inRoot("var/lib/dpkg/status"), "");
  await mkdir(inRoot("etc"));
  await writeFile(inRoot("etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
  await writeFile(inRoot("etc/group"), "root:x:0:\n");
  await writeFile(inRoot("etc/shadow"), "root:*:19000:0:99999:7:::\n", { mode: 0o640 });
  await writeFile(inRoot("etc/gshadow"), "root:*::\n", { mode: 0o640 });

  await t.test("installs: /opt/pusher, the conffile, the pusher user, its directories, the unit enabled", async () => {
    const install = await dpkg("-i", deb);
    assert.equal(install.code, 0, shown(install));

    for (const file of ["dist/src/main.js", "ecosystem.config.js", "docs/configuration.md"]) await access(inRoot(`opt/pusher/${file}`));
    for (const program of ["bin/pusher.js", "node_modules/.bin/pm2-runtime"]) await access(inRoot(`opt/pusher/${program}`), constants.X_OK);
    assert.ok(!(await exists(inRoot("opt/pusher/config/production.json"))), "no second production.json under /opt to merge beneath /etc's");

    const status = await dpkg("-s", "pusher");
    assert.match(status.stdout, /^Status: install ok installed$/m, shown(status));
    assert.match(status.stdout, /^Conffiles:\n \/etc\/pusher\/production\.json [0-9a-f]{32}\n \/etc\/logrotate\.d\/pusher [0-9a-f]{32}$/m, shown(status));

    const [user] = await accounts("etc/passwd");
    assert.ok(user, "the pusher user exists");
    const [, , uid, gid, , home, shell] = user.split(":");
    assert.equal(home, "/var/lib/pusher");
    assert.equal(shell, "/usr/sbin/nologin");
    assert.equal((await accounts("etc/group"))[0]?.split(":")[2], gid, "its own group");
    for (const dir of ["var/log/pusher", "var/lib/pusher"]) {
      const info = await stat(inRoot(dir));
      assert.deepEqual([info.uid, info.gid, info.mode & 0o777], [Number(uid), Number(gid), 0o750], `${dir} belongs to pusher`);
    }
    for (const secret of ["etc/pusher/production.json", "etc/pusher/pusher.env"]) {
      const info = await stat(inRoot(secret));
      assert.deepEqual([info.uid, info.gid, info.mode & 0o777], [0, Number(gid), 0o640], `${secret}: root:pusher 0640`);
    }
    assert.equal(await readlink(inRoot(`etc/systemd/system/multi-user.target.wants/${UNIT}`)), `/lib/systemd/system/${UNIT}`);
  });

  await t.test("the installed unit passes systemd-analyze verify", async () => {
    await addSystemdTargets(root);
    await verifyUnit(root);
  });

  await t.test("the installed `pusher config check` passes the conffile with production secrets, and refuses it without", async () => {
    const ok = await configCheck(PRODUCTION_ENV);
    assert.equal(ok.code, 0, shown(ok));
    assert.match(ok.stdout, new RegExp(`^  files: ${conffile}$`, "m"), "reads the conffile alone");
    assert.ok(!ok.stdout.includes(PRODUCTION_ENV.PUSHER_API_KEYS), "secrets are redacted");

    const noSecrets = await configCheck({ NODE_ENV: "production" });
    assert.equal(noSecrets.code, 1, shown(noSecrets));
    assert.match(noSecrets.stderr, /development key/);
  });

  await t.test("the installed build starts with its production node_modules alone", async (st) => {
    const host = await startPusher(st, {
      main: inRoot("opt/pusher/dist/src/main.js"),
      workers: 1,
      env: { ...PRODUCTION_ENV, PUSHER_CONFIG: conffile, PUSHER_REDIS_MODE: "none" },
    });
    assert.equal((await fetch(`${host.url}/healthz`)).status, 200);
    assert.equal(await host.stop(), 0);
  });

  await t.test("reinstalling keeps one pusher user and the admin's edit of the conffile, which config check then names", async () => {
    const edited = (await readFile(conffile, "utf8")).replace(/"server": \{/, '"server": {\n    "prot": 3001,');
    await writeFile(conffile, edited);
    const again = await dpkg("-i", deb);
    assert.equal(again.code, 0, shown(again));
    assert.equal((await accounts("etc/passwd")).length, 1);
    assert.equal((await accounts("etc/group")).length, 1);
    assert.equal(await readFile(conffile, "utf8"), edited, "dpkg keeps a modified conffile");

    const bad = await configCheck(PRODUCTION_ENV);
    assert.equal(bad.code, 1, shown(bad));
    assert.match(bad.stderr, /server\.prot/);
    assert.ok(bad.stderr.includes(conffile), bad.stderr);
  });

  await t.test("purge removes the release, logs, state, secrets template and the unit's link; the user stays", async () => {
    const purge = await dpkg("--purge", "pusher");
    assert.equal(purge.code, 0, shown(purge));
    for (const gone of ["opt/pusher", "var/log/pusher", "var/lib/pusher", "etc/pusher", `etc/systemd/system/multi-user.target.wants/${UNIT}`]) {
      assert.ok(!(await exists(inRoot(gone))), `${gone} is gone`);
    }
    assert.equal((await accounts("etc/passwd")).length, 1);
  });
});
