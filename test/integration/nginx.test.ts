import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { schema } from "../../src/config/schema.js";
import { nextState } from "../helpers/client-states.js";
import { checkNginxConf, confinedNginxConf, startNginx } from "../helpers/nginx.js";
import { findAll, findOne, proxiedUpstreamName, pusherServers, readShippedConf, readShippedSnippet, renderNginxConf, SHIPPED_SNIPPET, walk, type Directive } from "../helpers/nginx-conf.js";
import { connectionsHeldBy, unreadBytesHeldBy } from "../helpers/held-connections.js";
import { FleetTraffic, hostHoldingAll, startFleet } from "../helpers/nginx-fleet.js";
import { connectionCount, DEV_API_KEY, hostMetric, startPusher } from "../helpers/pusher.js";
import { ChannelRecorder } from "../helpers/steady-traffic.js";
import { retryUntil } from "../../src/redis-client/retry-until.js";
import { withTimeout } from "../helpers/with-timeout.js";
import { freePort, tempDir } from "../helpers/scratch.js";

/** The shipped nginx files (nginx/pusher.conf, nginx/pusher-proxy.conf): what they say, that nginx accepts them, and a host death behind them. */

/** An nginx time ("60s", "1m", "500ms", "75") in seconds. */
function seconds(value: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(value);
  assert.ok(match, `${value} is an nginx time`);
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] ?? "s"]!;
  return Number(match[1]) * unit;
}

/** An nginx size ("8m", "64k", "1024") in bytes. */
function sizeBytes(value: string): number {
  const match = /^(\d+)([kmg])?$/i.exec(value);
  assert.ok(match, `${value} is an nginx size`);
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? "").toLowerCase()]!;
  return Number(match[1]) * unit;
}

test("the shipped files carry what DESIGN §7 asks of nginx", () => {
  const conf = readShippedConf();
  const snippet = readShippedSnippet();
  const one = (name: string, ...args: string[]): string[] => findOne(snippet, name, ...args).args;
  const [server] = pusherServers(conf);
  const socketIoLocation = findOne(server!.block!, "location", "/");
  const apiLocation = findOne(server!.block!, "location", "/v1/");
  const socketIo = socketIoLocation.block!;
  const api = apiLocation.block!;

  // WebSocket upgrade: HTTP/1.1 and Upgrade/Connection, the latter from a map of $http_upgrade.
  assert.deepEqual(one("proxy_http_version"), ["1.1"]);
  assert.deepEqual(one("proxy_set_header", "Upgrade"), ["Upgrade", "$http_upgrade"]);
  assert.deepEqual(findAll(snippet, "proxy_set_header", "Connection"), [], "each location sets its own Connection");
  const connection = findOne(socketIo, "proxy_set_header", "Connection").args[1]!;
  const map = findOne(conf, "map", "$http_upgrade", connection);
  assert.deepEqual(findOne(map.block!, "default").args, ["upgrade"]);
  assert.deepEqual(findOne(map.block!, "''").args, ["close"], "plain Socket.IO requests close their upstream connection");

  // Quiet sockets and held polls must outlive one ping round.
  const pingRound = (schema.server.pingIntervalMs.default + schema.server.pingTimeoutMs.default) / 1000;
  assert.ok(seconds(one("proxy_read_timeout")[0]!) > pingRound, `proxy_read_timeout above ${pingRound} s`);
  assert.deepEqual(one("proxy_buffering"), ["off"]);
  const nextUpstream = one("proxy_next_upstream");
  for (const cause of ["error", "timeout", "http_503"]) assert.ok(nextUpstream.includes(cause), `proxy_next_upstream ${cause}`);
  assert.ok(!nextUpstream.includes("non_idempotent"), "a publish (POST) is never sent twice by nginx");
  const batchBytes = schema.publish.maxBatchMessages.default * schema.limits.maxPayloadBytes.default;
  assert.ok(sizeBytes(one("client_max_body_size")[0]!) > batchBytes, `client_max_body_size above a full /v1/batch (${batchBytes} bytes)`);

  // An upstream failure (a worker killed mid-publish) is the publish API's 503, not nginx's 502 page.
  assert.deepEqual(one("error_page"), ["502", "504", "=503", "@pusher_unavailable"]);
  const unavailable = findOne(walk(conf), "location", "@pusher_unavailable").block!;
  assert.deepEqual(findOne(unavailable, "add_header", "Retry-After").args, ["Retry-After", "1", "always"]);
  const [status, body] = findOne(unavailable, "return").args;
  assert.equal(status, "503");
  assert.equal(JSON.parse(body!.slice(1, -1)).error.code, "unavailable");

  // Socket.IO: several hosts, sticky by the whole client address, passive health, no reused connections.
  const upstream = findOne(conf, "upstream", proxiedUpstreamName(socketIoLocation)).block!;
  assert.deepEqual(findOne(upstream, "hash").args, ["$remote_addr", "consistent"]);
  assert.deepEqual(findAll(upstream, "keepalive"), [], "no upstream keepalive: sticky routes a TCP connection by its first request");
  assert.deepEqual(findAll(upstream, "ip_hash"), []);
  const servers = findAll(upstream, "server");
  assert.ok(servers.length >= 2, "several upstream hosts");
  for (const server of servers) {
    assert.ok(server.args.some((a) => /^max_fails=[1-9]\d*$/.test(a)), `${server.args[0]} has max_fails`);
    assert.ok(server.args.some((a) => /^fail_timeout=\d+(ms|s|m)?$/.test(a)), `${server.args[0]} has fail_timeout`);
  }

  // The HTTP API: the same hosts, kept-alive connections, dropped before pusher would drop them.
  const apiUpstream = findOne(conf, "upstream", proxiedUpstreamName(apiLocation)).block!;
  assert.deepEqual(findOne(api, "proxy_set_header", "Connection").args, ["Connection", '""'], "no Connection: close to the host");
  assert.deepEqual(findAll(apiUpstream, "server"), servers, "the API upstream lists the same hosts, with the same parameters");
  assert.deepEqual(findAll(apiUpstream, "hash"), [], "the API needs no stickiness");
  assert.ok(Number(findOne(apiUpstream, "keepalive").args[0]) > 0, "keepalive to the hosts");
  const idleSeconds = seconds(findOne(apiUpstream, "keepalive_timeout").args[0]!);
  assert.ok(idleSeconds * 1000 < schema.server.keepAliveTimeoutMs.default, `keepalive_timeout below server.keepAliveTimeoutMs (${schema.server.keepAliveTimeoutMs.default} ms)`);

  // TLS terminated at nginx, with the snippet in both locations.
  for (const tls of pusherServers(conf)) {
    findOne(tls.block!, "ssl_certificate");
    findOne(tls.block!, "ssl_certificate_key");
    for (const prefix of ["/", "/v1/"]) {
      const block = findOne(tls.block!, "location", prefix).block!;
      assert.equal(path.basename(findOne(block, "include").args[0]!), path.basename(SHIPPED_SNIPPET));
    }
  }
});

/**
 * The shipped pusher.conf made checkable here: the snippet include and the certificate paths
 * pointed into `dir`, and every listen on a free loopback port (nginx -t binds them; the shipped
 * 80/443 on every address are no business of a test). Throws if one of those is missing.
 */
async function checkableConf(dir: string, cert: string, key: string): Promise<Directive[]> {
  const conf = readShippedConf();
  const snippetCopy = path.join(dir, path.basename(SHIPPED_SNIPPET));
  await copyFile(SHIPPED_SNIPPET, snippetCopy);
  const rewritten = { include: 0, ssl_certificate: 0, ssl_certificate_key: 0, listen: 0 };
  const ports = new Map<string, number>();
  for (const directive of walk(conf)) {
    if (directive.name === "include" && path.basename(directive.args[0]!) === path.basename(SHIPPED_SNIPPET)) {
      directive.args[0] = snippetCopy;
    } else if (directive.name === "ssl_certificate") {
      directive.args[0] = cert;
    } else if (directive.name === "ssl_certificate_key") {
      directive.args[0] = key;
    } else if (directive.name === "listen") {
      const address = directive.args[0]!;
      if (!ports.has(address)) ports.set(address, await freePort());
      directive.args[0] = `${address.startsWith("[") ? "[::1]" : "127.0.0.1"}:${ports.get(address)}`;
    } else {
      continue;
    }
    rewritten[directive.name as keyof typeof rewritten]++;
  }
  for (const [name, count] of Object.entries(rewritten)) assert.ok(count > 0, `the shipped pusher.conf has no ${name} to point at the test's files`);
  return conf;
}

test("nginx -t accepts the shipped pusher.conf and its snippet, TLS included", async (t) => {
  const dir = await tempDir(t);
  const cert = path.join(dir, "fullchain.pem");
  const key = path.join(dir, "privkey.pem");
  await promisify(execFile)("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=push.example.com", "-days", "1", "-keyout", key, "-out", cert]);

  const conf = await checkableConf(dir, cert, key);
  const shipped = path.join(dir, "pusher.conf");
  const main = path.join(dir, "nginx.conf");
  await writeFile(shipped, renderNginxConf(conf));
  await writeFile(main, confinedNginxConf(dir, `    include ${shipped};`));
  const { code, output } = await checkNginxConf(dir, main);
  assert.equal(code, 0, output);
  assert.match(output, /syntax is ok/);
  assert.match(output, /test is successful/);

  // The check does read what it is given: without the map, the snippet's Connection variable is unknown.
  await writeFile(shipped, renderNginxConf(conf.filter((d) => d.name !== "map")));
  const broken = await checkNginxConf(dir, main);
  assert.notEqual(broken.code, 0, broken.output);
  assert.match(broken.output, /unknown "pusher_connection_upgrade" variable/);
});

test("a host behind nginx dies: every client reconnects through nginx to the other host and recovers every message", async (t) => {
  const fleet = await startFleet(t, 2);
  const traffic = await FleetTraffic.start(t, fleet);
  const clients = traffic.recorders.length;
  const holder = await hostHoldingAll(fleet.hosts, clients);
  const doomed = fleet.hosts[holder]!;
  const survivor = fleet.hosts[1 - holder]!;

  // Backends stop sending to the doomed host first: this test is about the subscribers.
  await traffic.retarget([survivor.url]);
  const reconnects = traffic.recorders.map((r) => nextState(r.client, "connected", 20_000).then(() => Date.now()));
  const killedAt = Date.now();
  await doomed.crash();
  const slowest = Math.max(...(await Promise.all(reconnects))) - killedAt;
  t.diagnostic(`${clients} clients reconnected through nginx within ${slowest} ms of the kill`);
  assert.ok(slowest < 5000, `every client reconnected within 5 s (slowest: ${slowest} ms)`);

  // Passive health and next-upstream at work: requests for the dead host were passed to the
  // survivor within the same client request, and the dead host was taken out.
  const doomedAddress = `127.0.0.1:${doomed.port}`;
  const survivorAddress = `127.0.0.1:${survivor.port}`;
  assert.ok((await fleet.proxy.accessLog()).includes(`upstream=${doomedAddress}, ${survivorAddress} `), "nginx passed a request for the dead host on to the survivor");
  assert.match(await fleet.proxy.errorLog(), new RegExp(`upstream server temporarily disabled .*${doomedAddress.replaceAll(".", "\\.")}`));

  // A client that arrives now is routed to the survivor (nginx has no other live host).
  const late = await traffic.subscribe(traffic.recorders[0]!.subscription.channel, ["polling", "websocket"]);
  await traffic.nextAcks();
  assert.equal(late.client.state, "connected");
  assert.equal(await connectionCount(survivor), clients + 1, "the survivor holds every client, old and new");
  await traffic.stopAndAssertDelivered();
  assert.ok(late.messages.length > 0, "the late client received live messages");
});

/** POST /v1/publish of `{ seq }` through `url`; resolves with the answer. */
function publishThrough(url: string, channel: string, seq: number): Promise<Response> {
  return fetch(`${url}/v1/publish`, {
    method: "POST",
    headers: { authorization: `Bearer ${DEV_API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ channel, event: "seq", data: { seq }, id: `${channel}-${seq}` }),
  });
}

async function assertPublished(answer: Promise<Response>): Promise<void> {
  const res = await answer;
  assert.equal(res.status, 200, await res.text());
  await res.arrayBuffer().catch(() => undefined);
}

test("publishes through nginx reuse a few kept-alive upstream connections, beside Socket.IO clients on websocket and long-polling", async (t) => {
  const host = await startPusher(t, { workers: 2 });
  const proxy = await startNginx(t, [host.port]);
  const channel = `nginx-keepalive-${randomUUID().slice(0, 8)}`;
  const clients = [new ChannelRecorder(t, proxy.url, channel, ["websocket"]), new ChannelRecorder(t, proxy.url, channel, ["polling"])];
  await Promise.all(clients.map((c) => c.subscribed()));

  // On a channel nobody polls, so the count is the publishes' own connections.
  const PUBLISHES = 200;
  const CONCURRENCY = 4;
  const before = await hostMetric(host, "pusher_accepted_connections_total");
  for (let seq = 0; seq < PUBLISHES; seq += CONCURRENCY) {
    await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => assertPublished(publishThrough(proxy.url, `${channel}-quiet`, seq + i))));
  }
  // nginx keeps at most CONCURRENCY in use; the metric requests add one (kept alive too).
  const opened = (await hostMetric(host, "pusher_accepted_connections_total")) - before;
  t.diagnostic(`${PUBLISHES} publishes through nginx opened ${opened} connections to the host`);
  assert.ok(opened <= CONCURRENCY + 2, `${PUBLISHES} publishes through nginx opened ${opened} upstream connections: nginx does not keep them alive`);

  // Socket.IO through the same nginx, sticky and one request per upstream connection, still works.
  const seqs = Array.from({ length: 20 }, (_, i) => i);
  for (const seq of seqs) await assertPublished(publishThrough(proxy.url, channel, seq));
  await Promise.all(clients.map((c) => c.waitForAll(seqs)));
  for (const client of clients) assert.deepEqual(client.seqs(), seqs);
  assert.doesNotMatch(await proxy.errorLog(), /\[(error|crit)\]/, "nginx logged no upstream error");
});

test("a publish on a kept-alive upstream connection whose worker dies is answered 503 with Retry-After and a JSON error through nginx", async (t) => {
  const host = await startPusher(t, { workers: 1 });
  const proxy = await startNginx(t, [host.port]);
  const worker = host.workers.get(0)!;
  // The first publish leaves its upstream connection open, idle, in the worker.
  await assertPublished(publishThrough(proxy.url, "nginx-stranded", 0));
  assert.equal(connectionsHeldBy(worker, host.port), 1, "the worker holds nginx's kept-alive connection");

  // A stopped worker reads nothing: the next publish waits in that connection, unread (a new
  // connection would be read by the primary, which routes it).
  process.kill(worker, "SIGSTOP");
  const answer = publishThrough(proxy.url, "nginx-stranded", 1);
  await withTimeout(
    (async () => {
      while (unreadBytesHeldBy(worker, host.port) === 0) await new Promise((r) => setTimeout(r, 20));
    })(),
    5000,
    "the publish to wait in the kept-alive connection",
  );
  const killed = Date.now();
  process.kill(worker, "SIGKILL");
  const res = await withTimeout(answer, 5000, "nginx's answer");
  assert.equal(res.status, 503);
  assert.equal(res.headers.get("retry-after"), "1");
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, "unavailable");
  assert.ok(Date.now() - killed < 2000, `answered ${Date.now() - killed} ms after the kill`);

  // nginx dropped the dead connection: once the worker is respawned, publishes go through again.
  await retryUntil(() => assertPublished(publishThrough(proxy.url, "nginx-stranded", 2)), { timeoutMs: 10_000, intervalMs: 100 });
});
