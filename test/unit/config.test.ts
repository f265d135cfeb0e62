import test, { type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describeSchema } from "../../src/config/doc.js";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { settingsMarkdown } from "../../src/cli/config-doc.js";
import { ROOT } from "../helpers/root.js";
import { tempDir } from "../helpers/scratch.js";
import { createConfig, DEV_API_KEY, DEV_JWT_SECRET, type PusherConfig, type Transport } from "../../src/config/schema.js";

const STRONG_SECRET = "0123456789abcdef0123456789abcdef-production";

/** A temp folder standing in for config/, removed after the test. */
async function configDir(t: TestContext, files: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir(t, "pusher-config-");
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

function loadError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected loadConfig to throw");
}

test("defaults load with no file and no env", async (t) => {
  const dir = await configDir(t);
  const config = loadConfig({ env: {}, configDir: dir });
  assert.equal(config.server.port, 3000);
  assert.deepEqual(config.server.transports, ["polling", "websocket"]);
  assert.equal(config.redis.mode, "none");
});

test("an unknown key in a file is rejected, naming the key and the file", async (t) => {
  const dir = await configDir(t, { "development.json": '{ "server": { "prot": 3001 } }' });
  const err = loadError(() => loadConfig({ env: {}, configDir: dir }));
  assert.match(err.message, /server\.prot/);
  assert.ok(err.message.includes(path.join(dir, "development.json")), err.message);
  assert.match(err.message, /did you mean server\.port/);
});

test("a bad value in a file names the key and the file", async (t) => {
  const dir = await configDir(t);
  const file = path.join(dir, "override.json");
  await writeFile(file, '// JSON5 comments are allowed\n{ "redis": { "mode": "cluster" } }');
  const err = loadError(() => loadConfig({ env: { PUSHER_CONFIG: file }, configDir: dir }));
  assert.match(err.message, /redis\.mode/);
  assert.ok(err.message.includes(file), err.message);
  assert.match(err.message, /cluster/);
});

test("a bad env value names the env variable and the key", async (t) => {
  const dir = await configDir(t);
  const err = loadError(() => loadConfig({ env: { PUSHER_PORT: "abc" }, configDir: dir }));
  assert.match(err.message, /PUSHER_PORT \(server\.port\): ports must be within range 0 - 65535: value was "abc"/);
});

test("a number with trailing junk in env is rejected, not truncated", async (t) => {
  const dir = await configDir(t);
  const err = loadError(() => loadConfig({ env: { PUSHER_HISTORY_SIZE: "12abc" }, configDir: dir }));
  assert.match(err.message, /PUSHER_HISTORY_SIZE \(history\.size\)/);
});

test("every env name in the errors comes from the schema", async (t) => {
  const dir = await configDir(t);
  // A bad value for each numeric setting must name that setting's own env variable.
  const numeric = describeSchema().filter((row) => typeof row.default === "number" && row.env !== "");
  assert.ok(numeric.length > 5);
  for (const row of numeric) {
    const err = loadError(() => loadConfig({ env: { [row.env]: "-1" }, configDir: dir }));
    assert.ok(err.message.includes(`${row.env} (${row.key})`), err.message);
  }
});

test("precedence: NODE_ENV file < PUSHER_CONFIG file < env", async (t) => {
  const dir = await configDir(t, {
    "staging.json": '{ "server": { "port": 4001, "workers": 2 }, "history": { "size": 10 } }',
  });
  const override = path.join(dir, "override.json");
  await writeFile(override, '{ "server": { "port": 4002 }, "history": { "size": 20 } }');
  const base = { NODE_ENV: "staging", PUSHER_CONFIG: override };

  const fromFiles = loadConfig({ env: base, configDir: dir });
  assert.equal(fromFiles.server.workers, 2, "NODE_ENV file applies where nothing overrides it");
  assert.equal(fromFiles.server.port, 4002, "PUSHER_CONFIG overrides the NODE_ENV file");
  assert.equal(fromFiles.history.size, 20);

  const withEnv = loadConfig({ env: { ...base, PUSHER_PORT: "4003" }, configDir: dir });
  assert.equal(withEnv.server.port, 4003, "env overrides both files");
  assert.equal(withEnv.history.size, 20);
});

test('transports "websocket" parses to ["websocket"]', async (t) => {
  const dir = await configDir(t);
  const config = loadConfig({ env: { PUSHER_TRANSPORTS: "websocket" }, configDir: dir });
  assert.deepEqual(config.server.transports, ["websocket"]);
  const err = loadError(() => loadConfig({ env: { PUSHER_TRANSPORTS: "websocket,carrier-pigeon" }, configDir: dir }));
  assert.match(err.message, /PUSHER_TRANSPORTS \(server\.transports\).*carrier-pigeon/);
});

test('sentinels "h:1,h:2" parse to a list', async (t) => {
  const dir = await configDir(t);
  const config = loadConfig({ env: { PUSHER_REDIS_MODE: "sentinel", PUSHER_REDIS_SENTINELS: "h:1,h:2" }, configDir: dir });
  assert.deepEqual(config.redis.sentinels, ["h:1", "h:2"]);
  const err = loadError(() => loadConfig({ env: { PUSHER_REDIS_SENTINELS: "h1" }, configDir: dir }));
  assert.match(err.message, /PUSHER_REDIS_SENTINELS/);
});

test("sentinel mode without sentinels is refused", async (t) => {
  const dir = await configDir(t);
  const err = loadError(() => loadConfig({ env: { PUSHER_REDIS_MODE: "sentinel" }, configDir: dir }));
  assert.match(err.message, /redis\.sentinels is empty/);
});

test("NODE_ENV=production refuses the development API key and JWT secret", async (t) => {
  const dir = await configDir(t);
  const keyErr = loadError(() => loadConfig({ env: { NODE_ENV: "production", PUSHER_JWT_SECRET: STRONG_SECRET }, configDir: dir }));
  assert.match(keyErr.message, /auth\.apiKeys/);
  assert.match(keyErr.message, /PUSHER_API_KEYS/);

  const secretErr = loadError(() => loadConfig({ env: { NODE_ENV: "production", PUSHER_API_KEYS: "k1" }, configDir: dir }));
  assert.match(secretErr.message, /auth\.jwtSecret/);

  const mixed = loadError(() => loadConfig({ env: { NODE_ENV: "production", PUSHER_API_KEYS: `k1,${DEV_API_KEY}`, PUSHER_JWT_SECRET: STRONG_SECRET }, configDir: dir }));
  assert.match(mixed.message, /development key/);

  const ok = loadConfig({ env: { NODE_ENV: "production", PUSHER_API_KEYS: "k1,k2", PUSHER_JWT_SECRET: STRONG_SECRET }, configDir: dir });
  assert.deepEqual(ok.auth.apiKeys, ["k1", "k2"]);
  assert.notEqual(ok.auth.jwtSecret, DEV_JWT_SECRET);
});

test("development keeps the development secrets", async (t) => {
  const dir = await configDir(t);
  const config = loadConfig({ env: { NODE_ENV: "development" }, configDir: dir });
  assert.deepEqual(config.auth.apiKeys, [DEV_API_KEY]);
});

test("a missing PUSHER_CONFIG file is an error naming it", async (t) => {
  const dir = await configDir(t);
  const missing = path.join(dir, "nope.json");
  const err = loadError(() => loadConfig({ env: { PUSHER_CONFIG: missing }, configDir: dir }));
  assert.ok(err.message.includes("PUSHER_CONFIG"), err.message);
  assert.ok(err.message.includes(missing), err.message);
});

test("a file that is not JSON5 names the file", async (t) => {
  const dir = await configDir(t, { "development.json": "{ server: " });
  const err = loadError(() => loadConfig({ env: {}, configDir: dir }));
  assert.ok(err.message.includes(path.join(dir, "development.json")), err.message);
});

test("describeSchema covers every key, with env names and sensitivity from the schema", () => {
  const rows = describeSchema();
  const flatten = (node: object, prefix = ""): string[] =>
    Object.entries(node).flatMap(([k, v]) => (v !== null && typeof v === "object" && !Array.isArray(v) ? flatten(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
  assert.deepEqual(rows.map((r) => r.key).sort(), flatten(createConfig().getProperties()).sort());
  const byKey = new Map(rows.map((r) => [r.key, r]));
  assert.equal(byKey.get("server.port")?.env, "PUSHER_PORT");
  assert.equal(byKey.get("auth.jwtSecret")?.sensitive, true);
  assert.equal(byKey.get("server.port")?.sensitive, false);
  assert.equal(new Set(rows.map((r) => r.env)).size, rows.length, "env names are unique");
  for (const row of rows) assert.ok(row.doc.length > 0, `${row.key} has a doc`);
});

test("docs/configuration.md carries the table `pusher config doc` prints, unchanged", () => {
  const docs = readFileSync(path.join(ROOT, "docs/configuration.md"), "utf8");
  const table = settingsMarkdown(describeSchema());
  assert.ok(docs.includes(`${table}\n`), "docs/configuration.md is out of date: paste the output of `pusher config doc` into it");
});

test("settings with a list of choices are typed as those choices", () => {
  const config: PusherConfig = createConfig().getProperties();
  const choices: [PusherConfig["redis"]["mode"], PusherConfig["publish"]["durability"], PusherConfig["log"]["format"], Transport[]] = [
    config.redis.mode,
    config.publish.durability,
    config.log.format,
    config.server.transports,
  ];
  assert.deepEqual(choices, ["none", "leader", "auto", ["polling", "websocket"]]);
  // Checked by the compiler: a misspelled choice is a type error, so this file would not build.
  // @ts-expect-error "sentinal" is not a redis.mode
  const misspelled: PusherConfig["redis"]["mode"] = "sentinal";
  // @ts-expect-error "leaders" is not a publish.durability
  const durability: PusherConfig["publish"]["durability"] = "leaders";
  assert.ok(misspelled && durability);
});
