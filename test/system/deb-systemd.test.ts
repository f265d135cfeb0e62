import assert from "node:assert/strict";
import { copyFile } from "node:fs/promises";
import path from "node:path";
import test, { type TestContext } from "node:test";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import type { ReconnectNotice } from "../../src/protocol/events.js";
import { connectSocket, subscribe, type TestSocket } from "../helpers/clients.js";
import { debianRootfs } from "../helpers/debian-rootfs.js";
import { bootContainer, SHARED_INSIDE } from "../helpers/nspawn.js";
import { dataNodeConf, launchNode } from "../helpers/redis-process.js";
import { buildRelease } from "../helpers/release.js";
import { shown } from "../helpers/run-command.js";
import { freePort, tempDir } from "../helpers/scratch.js";
import { assertDeliveryGuarantee, ChannelRecorder, SteadyPublisher } from "../helpers/steady-traffic.js";

// The .deb as an operator meets it on a VM: Debian 12 booted with systemd as PID 1 in a
// systemd-nspawn container (test/helpers/nspawn.ts), the package installed with dpkg, the service
// run with systemctl and watched with pm2, journalctl and curl. The container shares this host's
// network, so the pusher inside listens on our loopback and talks to a redis-server we started.
// docs/operations.md ("Checking a host by hand") lists the same steps for a VM.

const API_KEY = "systemd-test-api-key";
const CONFFILE = "/etc/pusher/production.json";
const PM2 = ["runuser", "-u", "pusher", "--", "env", "PM2_HOME=/var/lib/pusher/.pm2", "/opt/pusher/node_modules/.bin/pm2"];
// Documented in docs/operations.md: pm2 restarts a killed primary at once (the start takes a few
// seconds: workers, Redis); systemd restarts a killed pm2 after RestartSec=5.
// Measured here: 4-17 s and 12-28 s on 2 busy cores; the limits leave room for a loaded CI run.
const PRIMARY_BACK_MS = 30_000;
const PM2_BACK_MS = 45_000;
const TIMEOUT_STOP_MS = 30_000;

interface Pm2App {
  pid: number;
  pm2_env: { status: string; restart_time: number; axm_monitor: Record<string, { value: unknown; unit?: string }> };
}

/** Sockets that record how the host let them go. */
function watchGoodbyes(sockets: TestSocket[]): { advice: ReconnectNotice[]; gone: Promise<Array<{ reason: string; at: number }>> } {
  const advice: ReconnectNotice[] = [];
  const gone = Promise.all(
    sockets.map((socket) => {
      socket.on("reconnect_advice", (notice) => advice.push(notice));
      return new Promise<{ reason: string; at: number }>((resolve) => socket.once("disconnect", (reason) => resolve({ reason, at: Date.now() })));
    }),
  );
  return { advice, gone };
}

/** A client-helper subscriber and a steady publisher on one channel. */
async function steadyTraffic(t: TestContext, url: string, channel: string) {
  const recorder = new ChannelRecorder(t, url, channel);
  await recorder.subscribed();
  const publisher = new SteadyPublisher([url], channel, 20, API_KEY);
  publisher.start();
  t.after(() => publisher.stop());
  return {
    recorder,
    publisher,
    /** Stops after one more acknowledgement; the subscriber must have every acknowledged message once, in order, without a resync. */
    async verify(label: string): Promise<void> {
      await publisher.nextAckAfter(Date.now());
      await publisher.stop();
      await recorder.waitForAll(publisher.acks.map((a) => a.seq));
      assert.equal(assertDeliveryGuarantee(recorder, publisher.acks, label), 0, `${label}: the history in Redis filled every gap`);
    },
  };
}

test("the .deb under a real systemd: install, watch, misconfigure, kill, stop, upgrade, remove", { timeout: 600_000 }, async (t) => {
  assert.equal(process.getuid?.(), 0, "booting a container (systemd-nspawn) and installing a .deb need root, as in CI");
  const out = await tempDir(t, "pusher-deb-");
  // The first build and a newer one to upgrade to, made while the root is fetched (or found cached).
  const [rootfs, first, newer] = await Promise.all([
    debianRootfs(),
    buildRelease(path.join(out, "first")),
    buildRelease(path.join(out, "newer"), "0.1.0+upgrade1"),
  ]);
  const redis = await launchNode(out, "redis", dataNodeConf());
  t.after(() => redis.kill());
  const vm = await bootContainer(t, rootfs);
  for (const release of [first, newer]) await copyFile(release.deb, path.join(vm.shared, path.basename(release.deb)));
  const inside = (file: string): string => `${SHARED_INSIDE}/${path.basename(file)}`;

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const systemctl = (...args: string[]) => vm.exec(["systemctl", ...args]);
  const property = async (name: string): Promise<string> => (await vm.sh(`systemctl show pusher --property=${name} --value`)).trim();
  const readyz = (): Promise<number> => fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0);
  /** Waits for /readyz 200 from outside the container; resolves with how long that took. */
  const ready = async (timeoutMs: number, what: string): Promise<number> => {
    const from = Date.now();
    await retryUntil(
      async () => {
        const status = await readyz();
        if (status !== 200) throw new Error(`${what}: /readyz is ${status || "refused"} after ${Date.now() - from} ms`);
      },
      { timeoutMs, intervalMs: 100 },
    );
    return Date.now() - from;
  };
  const jlist = async (): Promise<Pm2App> => {
    const apps = JSON.parse(await vm.sh(PM2.concat("jlist").join(" "))) as Pm2App[];
    assert.equal(apps.length, 1, "pm2 runs one app");
    return apps[0]!;
  };
  /** The unit's journal (message text only) since `cursor`, and the cursor for the next read. */
  const journalCursor = async (): Promise<string> => {
    const shownCursor = await vm.sh("journalctl -u pusher -n 0 --show-cursor --no-pager");
    const cursor = /^-- cursor: (.+)$/m.exec(shownCursor)?.[1];
    assert.ok(cursor, shownCursor);
    return cursor;
  };
  const journalSince = (cursor: string): Promise<string> => vm.sh(`journalctl -u pusher -o cat --no-pager --after-cursor='${cursor}'`);

  await t.test("dpkg -i puts the user, its directories and the unit in place; enable --now serves; pm2 and the workers are in the unit's cgroup", async () => {
    const install = await vm.exec(["dpkg", "-i", inside(first.deb)]);
    assert.equal(install.code, 0, shown(install));
    assert.match(await vm.sh("getent passwd pusher"), /^pusher:x:\d+:\d+:[^:]*:\/var\/lib\/pusher:\/usr\/sbin\/nologin$/m);
    assert.equal(
      await vm.sh(`stat -c '%n %U:%G %a' /var/lib/pusher /var/log/pusher ${CONFFILE} /etc/pusher/pusher.env`),
      ["/var/lib/pusher pusher:pusher 750", "/var/log/pusher pusher:pusher 750", `${CONFFILE} root:pusher 640`, "/etc/pusher/pusher.env root:pusher 640", ""].join("\n"),
    );
    assert.equal(await property("FragmentPath"), "/lib/systemd/system/pusher.service");
    assert.equal((await systemctl("is-enabled", "pusher")).stdout.trim(), "enabled");
    assert.equal((await systemctl("is-active", "pusher")).stdout.trim(), "inactive", "a fresh install waits for its secrets");

    // What the operator sets: the secrets and this host's address in pusher.env, the broker in
    // the settings. A lone redis-server has no replica to WAIT for: durability "leader". A slow
    // drain rate makes the paced drain last about a second for the test's 40 clients.
    await vm.sh(`cat > /etc/pusher/pusher.env`, {
      input: [`PUSHER_API_KEYS=${API_KEY}`, "PUSHER_JWT_SECRET=systemd-test-jwt-secret-0123456789abcdef", `PUSHER_PORT=${port}`, "PUSHER_HOST=127.0.0.1", "PUSHER_WORKERS=2", ""].join("\n"),
    });
    await vm.sh(
      `sed -i -e 's|"mode": "sentinel",|"mode": "standalone", "url": "redis://${redis.address}",|' -e 's|"durability": "replica"|"durability": "leader"|' -e 's|"drainRate": 1000|"drainRate": 20|' ${CONFFILE}`,
    );
    assert.equal((await vm.sh(`grep -c -e '"mode": "standalone"' -e '"durability": "leader"' -e '"drainRate": 20' ${CONFFILE}`)).trim(), "3", "the three edits took");

    const start = await systemctl("enable", "--now", "pusher");
    assert.equal(start.code, 0, shown(start));
    const tookMs = await ready(60_000, "after systemctl enable --now");
    t.diagnostic(`ready ${tookMs} ms after systemctl enable --now returned`);

    const status = await systemctl("status", "pusher", "--no-pager", "--lines=0");
    assert.equal(status.code, 0, shown(status));
    assert.match(status.stdout, /Active: active \(running\)/, status.stdout);
    assert.match(status.stdout, /CGroup: \/system\.slice\/pusher\.service/, status.stdout);
    const processes = [...status.stdout.matchAll(/[├└]─(\d+) (.*)$/gm)].map(([, pid, command]) => ({ pid: pid!, command: command! }));
    const mainPid = await property("MainPID");
    assert.deepEqual(
      processes.filter((p) => p.command.includes("pm2-runtime start /opt/pusher/ecosystem.config.js")).map((p) => p.pid),
      [mainPid],
      `pm2-runtime is the main process:\n${status.stdout}`,
    );
    assert.equal(processes.filter((p) => p.command.includes("/opt/pusher/dist/src/main.js")).length, 3, `the primary and its 2 workers:\n${status.stdout}`);
    for (const { pid } of processes) assert.equal((await vm.sh(`stat -c %U /proc/${pid}`)).trim(), "pusher", `pid ${pid} runs as pusher`);
  });

  await t.test("pm2 jlist inside shows each worker's connections, memory and event-loop lag", async (st) => {
    await Promise.all(Array.from({ length: 3 }, () => connectSocket(st, url, { transports: ["websocket"] })));
    // Each worker reports every 2 s: wait until both have counted the 3 clients.
    const monitor = await retryUntil(
      async () => {
        const metrics = (await jlist()).pm2_env.axm_monitor;
        const counts = [0, 1].map((index) => metrics[`worker ${index} connections`]?.value);
        if (metrics.connections?.value !== 3 || counts.some((c) => typeof c !== "number")) throw new Error(`pm2 shows ${JSON.stringify(metrics)}`);
        return metrics;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    let connections = 0;
    for (const index of [0, 1]) {
      connections += monitor[`worker ${index} connections`]!.value as number;
      const memory = monitor[`worker ${index} memory`];
      const lag = monitor[`worker ${index} loop lag`];
      assert.ok(typeof memory?.value === "number" && memory.value > 10 && memory.unit === "MiB", `worker ${index} memory: ${JSON.stringify(memory)}`);
      assert.ok(typeof lag?.value === "number" && lag.unit === "ms", `worker ${index} loop lag: ${JSON.stringify(lag)}`);
    }
    assert.equal(connections, 3, "the workers' connections add up to the host's");
  });

  await t.test("logrotate's shipped config rotates pm2's log files as the pusher user", async () => {
    const rotate = await vm.exec(["logrotate", "--force", "/etc/logrotate.d/pusher"]);
    assert.equal(rotate.code, 0, shown(rotate));
    assert.match(await vm.sh("stat -c '%n %U:%G' /var/log/pusher/out.log.1"), /^\/var\/log\/pusher\/out\.log\.1 pusher:pusher$/m);
    assert.match(await vm.sh("cat /var/log/pusher/out.log.1"), /"msg":"pusher ready"/, "the rotated file holds what pm2 wrote");
    // copytruncate: pm2 writes on into the same, now emptied, file (checked after the restarts below).
    assert.doesNotMatch(await vm.sh("cat /var/log/pusher/out.log"), /"msg":"pusher ready"/);
  });

  await t.test("a typo in production.json: restart fails in ExecStartPre naming key, file and fix; the old host stopped whole; fixed, Restart= brings it back", async () => {
    await vm.sh(`cp ${CONFFILE} /root/production.json.good && sed -i 's|"server": {|"server": {\\n    "prot": 3001,|' ${CONFFILE}`);
    const cursor = await journalCursor();
    const restarts = Number(await property("NRestarts"));

    const restart = await systemctl("restart", "pusher");
    assert.notEqual(restart.code, 0, "systemctl restart reports the failure");
    assert.match(restart.stderr, /control process exited with error code/, shown(restart));
    const status = await systemctl("status", "pusher", "--no-pager", "--lines=0");
    assert.match(status.stdout, /ExecStartPre=\/opt\/pusher\/bin\/pusher\.js config check \(code=exited, status=1\/FAILURE\)/, status.stdout);
    const journal = await journalSince(cursor);
    assert.match(journal, /config error: in \/etc\/pusher\/production\.json: server\.prot: unknown key \(did you mean server\.port\?\)/, journal);

    // The restart's stop half ran to its end: the old primary drained and stopped, its workers
    // too, nothing of the unit is left running, and nothing listens on the port.
    assert.match(journal, /"role":"primary".*"msg":"stopped"/, journal);
    assert.equal(journal.match(/"role":"worker".*"msg":"worker stopped"/g)?.length, 2, journal);
    assert.equal(await property("MainPID"), "0");
    assert.doesNotMatch(status.stdout, /[├└]─\d+/, `no process left in the unit:\n${status.stdout}`);
    assert.equal(await readyz(), 0, "the port is closed: nginx passes this host's clients on");

    await vm.sh(`cp /root/production.json.good ${CONFFILE}`);
    const tookMs = await ready(PM2_BACK_MS, "after the fix, through Restart=always");
    assert.ok(Number(await property("NRestarts")) > restarts, "systemd's Restart= started it, nobody ran systemctl");
    t.diagnostic(`ready ${tookMs} ms after the fix`);
  });

  await t.test("kill -9 of the primary, then of pm2: back and ready in time, clients reconnect and miss nothing", async (st) => {
    const { recorder, publisher, verify } = await steadyTraffic(st, url, "systemd-kills");

    const before = await jlist();
    const mainPid = await property("MainPID");
    const primaryKilled = Date.now();
    await vm.sh(`kill -9 ${before.pid}`);
    const after = await retryUntil(
      async () => {
        const app = await jlist();
        if (app.pid === before.pid || app.pm2_env.status !== "online") throw new Error(`pm2 shows pid ${app.pid} ${app.pm2_env.status}`);
        return app;
      },
      { timeoutMs: PRIMARY_BACK_MS, intervalMs: 200 },
    );
    assert.equal(after.pm2_env.restart_time, before.pm2_env.restart_time + 1, "pm2 restarted it");
    await ready(PRIMARY_BACK_MS, "after kill -9 of the primary");
    const primaryBackMs = Date.now() - primaryKilled;
    assert.equal(await property("MainPID"), mainPid, "systemd had nothing to do");
    await recorder.waitForAll([(await publisher.nextAckAfter(Date.now())).seq]);

    const cursor = await journalCursor();
    const restarts = Number(await property("NRestarts"));
    const pm2Killed = Date.now();
    await vm.sh(`kill -9 ${mainPid}`);
    // The old processes may answer for a moment before systemd's SIGTERM reaches them.
    await retryUntil(
      async () => {
        if (Number(await property("NRestarts")) === restarts) throw new Error("systemd has not restarted pusher");
      },
      { timeoutMs: PM2_BACK_MS, intervalMs: 200 },
    );
    await ready(PM2_BACK_MS, "after kill -9 of pm2-runtime");
    const pm2BackMs = Date.now() - pm2Killed;
    assert.ok(pm2BackMs < PM2_BACK_MS, `back ${pm2BackMs} ms after kill -9 of pm2-runtime`);
    assert.equal(Number(await property("NRestarts")), restarts + 1, "systemd's Restart= restarted pm2-runtime, once");
    assert.notEqual(await property("MainPID"), mainPid);
    // KillMode=mixed: without pm2 to stop them, systemd SIGKILLs the orphaned primary and workers.
    const journal = await journalSince(cursor);
    assert.match(journal, /Main process exited, code=killed, status=9\/KILL/, journal);
    assert.match(journal, /Killing process \d+ \(node\) with signal SIGKILL/, journal);
    st.diagnostic(`ready again ${primaryBackMs} ms after kill -9 of the primary, ${pm2BackMs} ms after kill -9 of pm2-runtime`);

    await verify("kills");
  });

  await t.test("systemctl stop with connected clients: paced drain, publishes answered, stopped cleanly inside TimeoutStopSec", async (st) => {
    const sockets = await Promise.all(Array.from({ length: 40 }, () => connectSocket(st, url, { transports: ["websocket"], reconnection: false })));
    for (const socket of sockets) assert.ok((await subscribe(socket, "systemd-stop")).ok);
    const goodbye = watchGoodbyes(sockets);
    const cursor = await journalCursor();

    // Publishing on through the stop: each answer is a 200, or a 503 with Retry-After, until the
    // port closes.
    const answers: string[] = [];
    let publishing = true;
    const publishes = (async () => {
      for (let seq = 0; publishing; seq++) {
        const answer = await fetch(`${url}/v1/publish`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${API_KEY}` },
          body: JSON.stringify({ channel: "systemd-stop", event: "seq", data: { seq } }),
          signal: AbortSignal.timeout(5000),
        }).then(
          (res) => `${res.status}${res.headers.has("retry-after") ? " retry-after" : ""}`,
          (err: Error) => (err.cause as { code?: string } | undefined)?.code ?? err.name,
        );
        answers.push(answer);
        if (answer === "ECONNREFUSED") await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    const from = Date.now();
    const stop = await systemctl("stop", "pusher");
    const stopMs = Date.now() - from;
    publishing = false;
    await publishes;
    assert.equal(stop.code, 0, shown(stop));
    assert.ok(stopMs < TIMEOUT_STOP_MS, `stopped in ${stopMs} ms, inside TimeoutStopSec`);

    const gone = await goodbye.gone;
    assert.ok(gone.every((g) => g.reason === "io server disconnect"), JSON.stringify(gone.map((g) => g.reason)));
    assert.equal(goodbye.advice.length, 40, "every client was told to reconnect");
    assert.ok(goodbye.advice.every((a) => a.reason === "draining"));
    const spread = Math.max(...gone.map((g) => g.at)) - Math.min(...gone.map((g) => g.at));
    assert.ok(spread >= 500, `40 clients at 20/s per worker leave over about a second (spread ${spread} ms)`);

    // Every publish is answered: 200 while the host drains, then 503 + Retry-After; or its
    // connection is cut, which the backend retries with its id: a publish in flight as the primary
    // exits, or one sent on a kept-alive connection just as the draining worker closed it idle.
    // Once the port is closed (refused), nothing else. None hangs.
    const counts = answers.reduce<Record<string, number>>((all, a) => ({ ...all, [a]: (all[a] ?? 0) + 1 }), {});
    st.diagnostic(`stop took ${stopMs} ms; publish answers: ${JSON.stringify(counts)}`);
    assert.ok(answers.includes("200"), "publishes were answered until the drain");
    const closing = ["ECONNREFUSED", "ECONNRESET", "UND_ERR_SOCKET"];
    assert.deepEqual(answers.filter((a) => a !== "200" && a !== "503 retry-after" && !closing.includes(a)), [], "answered with 200, or 503 and when to retry, or cut: no publish hung");
    const refusedAt = answers.indexOf("ECONNREFUSED");
    const afterClose = refusedAt === -1 ? [] : answers.slice(refusedAt);
    assert.deepEqual(afterClose.filter((a) => !closing.includes(a)), [], "then the port closed");

    const journal = await journalSince(cursor);
    assert.equal(journal.match(/"role":"worker".*"msg":"draining"/g)?.length, 2, journal);
    assert.match(journal, /"role":"primary".*"msg":"stopped"/, journal);
    assert.match(journal, /pusher\.service: Deactivated successfully/, journal);
    // systemd's own words for a stop that overran TimeoutStopSec or ended in a kill.
    assert.doesNotMatch(journal, /with signal SIGKILL|State '[\w-]+' timed out|Failed with result/, journal);
    assert.equal((await systemctl("is-active", "pusher")).stdout.trim(), "inactive");
  });

  await t.test("dpkg -i of a newer build keeps the edited production.json and restarts the service; reconnecting clients miss nothing", async (st) => {
    const start = await systemctl("start", "pusher");
    assert.equal(start.code, 0, shown(start));
    await ready(60_000, "after systemctl start");
    const edited = await vm.sh(`cat ${CONFFILE}`);
    const mainPid = await property("MainPID");

    const { publisher, verify } = await steadyTraffic(st, url, "systemd-upgrade");
    await publisher.nextAckAfter(Date.now());

    const cursor = await journalCursor();
    const upgrade = await vm.exec(["dpkg", "-i", inside(newer.deb)]);
    assert.equal(upgrade.code, 0, shown(upgrade));
    assert.equal((await vm.sh("dpkg-query -W -f '${Version}' pusher")).trim(), newer.debVersion);
    assert.equal(await vm.sh(`cat ${CONFFILE}`), edited, "dpkg kept the operator's settings");
    await ready(60_000, "after the upgrade");
    assert.notEqual(await property("MainPID"), mainPid, "the postinst restarted the service");
    const journal = await journalSince(cursor);
    assert.match(journal, /"role":"primary".*"msg":"stopped"/, `the old primary stopped on its own:\n${journal}`);
    assert.match(await vm.sh("cat /opt/pusher/package.json"), new RegExp(`"version": "${newer.version.replaceAll("+", "\\+")}"`));

    await verify("upgrade");
  });

  await t.test("the journal carries the primary's and the workers' JSON lines, and pm2 writes on into the rotated log file", async () => {
    const entries = (await vm.sh("journalctl -u pusher -o json --no-pager"))
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { MESSAGE?: string; SYSLOG_IDENTIFIER?: string; _SYSTEMD_UNIT?: string });
    const logs = entries.flatMap((e) => {
      try {
        return typeof e.MESSAGE === "string" && e.MESSAGE.startsWith("{") ? [{ entry: e, line: JSON.parse(e.MESSAGE) as { role?: string; level?: number; msg?: string } }] : [];
      } catch {
        return [];
      }
    });
    assert.ok(logs.some((l) => l.line.role === "primary" && l.line.msg === "pusher ready"), "primary lines");
    assert.ok(logs.some((l) => l.line.role === "worker" && l.line.msg === "draining"), "worker lines");
    assert.ok(logs.every((l) => l.entry._SYSTEMD_UNIT === "pusher.service" && typeof l.line.level === "number"));
    assert.match(await vm.sh("cat /var/log/pusher/out.log"), /"msg":"pusher ready"/, "written after the rotation, into the truncated file");
  });

  await t.test("dpkg -r stops the service and keeps the settings; dpkg -P removes settings, logs and state, keeps the user", async () => {
    const remove = await vm.exec(["dpkg", "-r", "pusher"]);
    assert.equal(remove.code, 0, shown(remove));
    assert.equal(await readyz(), 0, "stopped: nothing listens");
    assert.notEqual((await systemctl("cat", "pusher")).code, 0, "the unit is gone");
    assert.equal((await vm.sh("ls -d /opt/pusher /lib/systemd/system/pusher.service 2>/dev/null; true")).trim(), "");
    assert.equal((await vm.sh("ls /etc/pusher")).trim().split("\n").join(" "), "production.json pusher.env", "settings and secrets kept");

    const purge = await vm.exec(["dpkg", "-P", "pusher"]);
    assert.equal(purge.code, 0, shown(purge));
    assert.equal((await vm.sh("ls -d /etc/pusher /var/lib/pusher /var/log/pusher /etc/systemd/system/multi-user.target.wants/pusher.service 2>/dev/null; true")).trim(), "");
    assert.match(await vm.sh("getent passwd pusher"), /^pusher:/, "the user stays");
    assert.notEqual((await vm.exec(["dpkg-query", "-W", "pusher"])).code, 0, "dpkg forgot the package");
  });
});
