import test from "node:test";
import assert from "node:assert/strict";
import { ConfigError } from "../../src/config/load.js";
import { createConfig } from "../../src/config/schema.js";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { checkSentinelConfig, readSentinelStatus, type SentinelStatus } from "../../src/redis-client/sentinel-admin.js";
import { withAdmin } from "../../src/redis-client/sentinel-commands.js";
import { pusher } from "../helpers/cli.js";
import { freePort } from "../helpers/scratch.js";
import { startRedis, startSentinelTopology, type SentinelTopology } from "../helpers/redis-topology.js";

function sentinelEnv(sentinels: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PUSHER_REDIS_MODE: "sentinel", PUSHER_REDIS_SENTINELS: sentinels, ...extra };
}

/** The redis settings as the CLI would load them from that environment. */
function redisSettings(sentinels: string, name = "mymaster") {
  return createConfig({ PUSHER_REDIS_MODE: "sentinel", PUSHER_REDIS_SENTINELS: sentinels, PUSHER_REDIS_NAME: name }).getProperties().redis;
}

async function statusJson(topology: SentinelTopology): Promise<SentinelStatus> {
  const run = await pusher(["sentinel", "status", "--json"], sentinelEnv(topology.sentinelList));
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as SentinelStatus;
}

/** Every sentinel's view as [sentinel, replicas it lists, sentinels it lists], sorted, for deepEqual. */
function views(status: SentinelStatus): [string, string[], string[]][] {
  return status.sentinels.map((s) => {
    assert.ok(s.reachable, `${s.address} answered`);
    return [s.address, s.replicas.map((r) => r.address).sort(), s.sentinels.map((p) => p.address).sort()];
  });
}

function expectedViews(topology: SentinelTopology, replicas: string[]): [string, string[], string[]][] {
  return topology.sentinels.map((s) => [s.address, [...replicas].sort(), topology.sentinels.filter((o) => o !== s).map((o) => o.address).sort()]);
}

test("sentinel status reports the master, 2 replicas, 3 sentinels and quorum, as text and as JSON", async (t) => {
  const topology = await startSentinelTopology(t);
  const [master, ...replicas] = topology.redis.map((node) => node.address);

  const text = await pusher(["sentinel", "status"], sentinelEnv(topology.sentinelList));
  assert.equal(text.code, 0, text.stderr);
  assert.ok(text.stdout.includes(`master "mymaster": ${master} (all 3 sentinels that answered agree)`), text.stdout);
  assert.match(text.stdout, /^quorum: OK/m);
  for (const replica of replicas) assert.ok(text.stdout.includes(`  ${replica}  slave  master link ok`), text.stdout);
  for (const sentinel of topology.sentinels) assert.ok(text.stdout.includes(`  ${sentinel.address}  master ${master}, 2 replicas (0 down), 2 other sentinels (0 down), OK 3 usable`), text.stdout);
  assert.doesNotMatch(text.stdout, /UNREACHABLE|DISAGREE/);

  const status = await statusJson(topology);
  assert.equal(status.master, master);
  assert.equal(status.agreed, true);
  assert.equal(status.quorumOk, true);
  assert.deepEqual(views(status), expectedViews(topology, replicas));
  for (const s of status.sentinels) if (s.reachable) assert.deepEqual(s.replicas.map((r) => [r.flags, r.masterLinkStatus]), [[["slave"], "ok"], [["slave"], "ok"]]);

  assert.deepEqual(await checkSentinelConfig(redisSettings(topology.sentinelList)), { host: "127.0.0.1", port: topology.redis[0]!.port });
});

test("a wrong master name fails with a message naming redis.name and the names monitored", async (t) => {
  const topology = await startSentinelTopology(t, { replicas: 1 });
  const expected = /redis\.name \(PUSHER_REDIS_NAME\) is "nosuch", but no sentinel monitors a master by that name \(they monitor "mymaster"/;

  await assert.rejects(checkSentinelConfig(redisSettings(topology.sentinelList, "nosuch")), (err: Error) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, expected);
    for (const sentinel of topology.sentinels) assert.ok(err.message.includes(sentinel.address), err.message);
    return true;
  });
  for (const command of ["status", "prune"]) {
    const run = await pusher(["sentinel", command], sentinelEnv(topology.sentinelList, { PUSHER_REDIS_NAME: "nosuch" }));
    assert.equal(run.code, 1, `sentinel ${command}: ${run.stdout}`);
    assert.match(run.stderr, expected);
    assert.equal(run.stdout, "");
  }
});

test("an unreachable sentinel list fails with a message naming redis.sentinels and each address's error", async (t) => {
  const closed = [await freePort(), await freePort()].map((port) => `127.0.0.1:${port}`);
  const expected = new RegExp(
    `no sentinel in redis\\.sentinels \\(PUSHER_REDIS_SENTINELS\\) answered: ${closed[0]} \\(connect ECONNREFUSED[^)]*\\), ${closed[1]} \\(connect ECONNREFUSED[^)]*\\); check the addresses`,
  );
  await assert.rejects(checkSentinelConfig(redisSettings(closed.join(","))), (err: Error) => err instanceof ConfigError && expected.test(err.message));
  for (const command of ["status", "prune"]) {
    const run = await pusher(["sentinel", command], sentinelEnv(closed.join(",")));
    assert.equal(run.code, 1, `sentinel ${command}: ${run.stdout}`);
    assert.match(run.stderr, expected);
  }

  // A server that wants a password we do not send: the message points at redis.sentinelPassword.
  const guarded = await startRedis(t);
  await withAdmin(guarded.address, "", (client) => client.config("SET", "requirepass", "s3cret"));
  await assert.rejects(checkSentinelConfig(redisSettings(guarded.address)), (err: Error) => {
    assert.match(err.message, /NOAUTH/);
    assert.match(err.message, /set redis\.sentinelPassword \(PUSHER_REDIS_SENTINEL_PASSWORD\)/);
    return true;
  });
});

test("sentinel prune after a replica died leaves every sentinel listing only the live replica, with quorum", async (t) => {
  const topology = await startSentinelTopology(t);
  const [master, live, dead] = topology.redis;
  await dead!.kill();
  // The state prune is for: every sentinel still lists the dead replica, as down.
  await retryUntil(
    async () => {
      const status = await readSentinelStatus(redisSettings(topology.sentinelList));
      for (const s of status.sentinels) {
        const flags = s.reachable ? s.replicas.find((r) => r.address === dead!.address)?.flags : undefined;
        if (!flags?.includes("s_down")) throw new Error(`${s.address} does not list ${dead!.address} as s_down yet`);
      }
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  );

  // With one listed sentinel not answering, prune resets none: that could cost quorum.
  const missing = `127.0.0.1:${await freePort()}`;
  const refused = await pusher(["sentinel", "prune"], sentinelEnv(`${topology.sentinelList},${missing}`));
  assert.equal(refused.code, 1, refused.stdout);
  assert.ok(refused.stderr.includes(`sentinel prune: not pruning: ${missing} (connect ECONNREFUSED`), refused.stderr);
  assert.equal(refused.stdout, "");
  assert.deepEqual(views(await statusJson(topology)), expectedViews(topology, [live!.address, dead!.address]), "no sentinel was reset");

  const started = Date.now();
  const run = await pusher(["sentinel", "prune"], sentinelEnv(topology.sentinelList));
  t.diagnostic(`prune took ${Date.now() - started} ms`);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assert.ok(run.stdout.startsWith(`master ${master!.address}; replicas online: ${live!.address}\n`), run.stdout);
  const resets = run.stdout.split("\n").filter((line) => line.startsWith("reset "));
  assert.deepEqual(
    resets.map((line) => line.slice("reset ".length, line.indexOf(": "))),
    topology.sentinels.map((s) => s.address),
    "one sentinel at a time, each once",
  );
  for (const line of resets) assert.ok(line.includes(`forgot replica ${dead!.address} (s_down`), line);
  assert.match(run.stdout, /pruned: all 3 sentinels/);

  const status = await statusJson(topology);
  assert.equal(status.master, master!.address);
  assert.equal(status.quorumOk, true);
  assert.deepEqual(views(status), expectedViews(topology, [live!.address]));
  for (const s of status.sentinels) if (s.reachable) assert.deepEqual(s.replicas[0]?.flags, ["slave"]);
});
