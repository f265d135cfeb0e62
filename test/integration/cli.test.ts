import test, { type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { createConfig } from "../../src/config/schema.js";
import { BIN, cleanEnv, pusher, ROOT } from "../helpers/cli.js";
import { killGroup, tempDir } from "../helpers/scratch.js";

async function tempFile(t: TestContext, name: string, text: string): Promise<string> {
  const file = path.join(await tempDir(t, "pusher-cli-"), name);
  await writeFile(file, text);
  return file;
}

function schemaKeys(): string[] {
  const flatten = (node: object, prefix = ""): string[] =>
    Object.entries(node).flatMap(([k, v]) => (v !== null && typeof v === "object" && !Array.isArray(v) ? flatten(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
  return flatten(createConfig().getProperties());
}

test("config check accepts a good file and redacts secrets", async (t) => {
  const file = await tempFile(t, "good.json", '// comment\n{ "server": { "port": 4100 }, "auth": { "apiKeys": ["very-secret-key-123"] } }');
  const run = await pusher(["config", "check", file]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^config OK/);
  assert.ok(run.stdout.includes(file), "names the file it read");
  assert.match(run.stdout, /server\.port\s+= 4100/);
  assert.ok(!run.stdout.includes("very-secret-key-123"), "the API key is redacted");
  assert.match(run.stdout, /auth\.apiKeys\s+= <redacted/);
});

test("config check rejects a bad file, naming the key and the file", async (t) => {
  const file = await tempFile(t, "bad.json", '{ "server": { "port": 3000 }, "publish": { "durabilty": "replica" } }');
  const run = await pusher(["config", "check", file]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /publish\.durabilty/);
  assert.ok(run.stderr.includes(file), run.stderr);
  assert.equal(run.stdout, "");
});

test("config check names a bad env variable", async () => {
  const run = await pusher(["config", "check"], { PUSHER_WORKERS: "many" });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /PUSHER_WORKERS \(server\.workers\)/);
});

test("the shipped config files pass config check", async () => {
  const dev = await pusher(["config", "check", path.join(ROOT, "config/development.json")], { NODE_ENV: "development" });
  assert.equal(dev.code, 0, dev.stderr);

  const prodEnv = { NODE_ENV: "production", PUSHER_API_KEYS: "ops-key-1", PUSHER_JWT_SECRET: "x".repeat(40) };
  const prod = await pusher(["config", "check"], prodEnv);
  assert.equal(prod.code, 0, prod.stderr);
  assert.match(prod.stdout, /redis\.mode\s+= "sentinel"/);
  assert.ok(!prod.stdout.includes("ops-key-1"));

  const noSecrets = await pusher(["config", "check"], { NODE_ENV: "production" });
  assert.equal(noSecrets.code, 1);
  assert.match(noSecrets.stderr, /development key/);
});

test("config doc lists every schema key with its env variable", async () => {
  const run = await pusher(["config", "doc"]);
  assert.equal(run.code, 0, run.stderr);
  for (const key of schemaKeys()) assert.ok(run.stdout.includes(`| \`${key}\` |`), `config doc lists ${key}`);
  assert.match(run.stdout, /\| `server\.port` \| `PUSHER_PORT` \| `3000` \|/);

  const json = await pusher(["config", "doc", "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as { key: string; env: string }[];
  assert.deepEqual(rows.map((r) => r.key).sort(), schemaKeys().sort());
});

test("unknown commands and options print usage and exit 2; --help exits 0", async () => {
  const unknown = await pusher(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  assert.match(unknown.stderr, /Usage: pusher/);

  const badOption = await pusher(["config", "doc", "--yaml"]);
  assert.equal(badOption.code, 2);

  const help = await pusher(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /config check/);
});

async function readBody(req: IncomingMessage): Promise<string> {
  let body = "";
  for await (const chunk of req) body += chunk;
  return body;
}

test("publish posts to /v1/publish with the bearer key and prints the response", async (t) => {
  const seen: { method?: string; url?: string; auth?: string; body?: unknown }[] = [];
  let status = 200;
  const server = createServer(async (req, res) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body: JSON.parse(await readBody(req)) });
    res.writeHead(status, { "content-type": "application/json" });
    res.end(status === 200 ? '{"offsets":{"news":{"epoch":"e1","offset":7}}}' : '{"error":{"code":"unauthorized"}}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const ok = await pusher(["publish", "--url", url, "--key", "k-123", "--channel", "news", "--event", "update", "--data", '{"n":1}', "--id", "m-1"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(seen[0], { method: "POST", url: "/v1/publish", auth: "Bearer k-123", body: { channel: "news", event: "update", data: { n: 1 }, id: "m-1" } });
  assert.equal(JSON.parse(ok.stdout).offsets.news.offset, 7);

  // The key comes from PUSHER_API_KEYS when neither --key nor PUSHER_API_KEY is given.
  const fromConfig = await pusher(["publish", "--url", url, "--channel", "a", "--channel", "b", "--event", "e", "--data", "1"], { PUSHER_API_KEYS: "cfg-key,other" });
  assert.equal(fromConfig.code, 0, fromConfig.stderr);
  assert.equal(seen[1]?.auth, "Bearer cfg-key");
  assert.deepEqual(seen[1]?.body, { channels: ["a", "b"], event: "e", data: 1 });

  status = 401;
  const refused = await pusher(["publish", "--url", url, "--key", "wrong", "--channel", "news", "--event", "update", "--data", "{}"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /HTTP 401/);
  assert.match(refused.stderr, /unauthorized/);

  const badData = await pusher(["publish", "--url", url, "--key", "k", "--channel", "news", "--event", "update", "--data", "{nope"]);
  assert.equal(badData.code, 2);
  assert.match(badData.stderr, /--data is not JSON/);
  assert.equal(seen.length, 3, "an unparseable --data sends nothing");
});

test("start runs the server, and publish reaches it with the port and key from config", async (t) => {
  const env = { PUSHER_PORT: "0", PUSHER_HOST: "127.0.0.1", PUSHER_WORKERS: "1", PUSHER_LOG_FORMAT: "json", PUSHER_API_KEYS: "start-test-key" };
  // Its own process group, so the workers go too if the test has to kill it.
  const child = spawn(process.execPath, [BIN, "start"], { cwd: ROOT, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"], detached: true });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) killGroup(child.pid!);
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => { stderr += c; });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no "pusher ready" within 15 s; stderr: ${stderr}`)), 15_000);
    child.stdout.setEncoding("utf8").on("data", (c: string) => {
      out += c;
      const ready = out.split("\n").map((l) => { try { return JSON.parse(l) as { msg?: string; port?: number }; } catch { return {}; } }).find((l) => l.msg === "pusher ready");
      if (ready?.port) { clearTimeout(timer); resolve(ready.port); }
    });
  });

  const run = await pusher(["publish", "--channel", "cli-news", "--event", "e", "--data", '{"n":1}'], { ...env, PUSHER_PORT: String(port) });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).offsets["cli-news"].offset, 1);

  process.kill(child.pid!, "SIGTERM");
  assert.equal(await exited, 0, stderr);
});
