/**
 * Loopback source addresses that nginx's `hash $remote_addr consistent` spreads evenly over the
 * hosts. Every client here comes from loopback; left to chance, a handful of addresses can all
 * hash to one host and a host fault would then hit no client (or every one).
 */
import http from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { UPSTREAM_HEADER } from "../../test/helpers/nginx.js";

/** Candidates 127.0.<block>.1, .2, ...: each consumer of addresses takes its own block. */
const CANDIDATES_PER_BLOCK = 64;
/** The block, size and pace of the probes that tell whether nginx routes to a host again. */
const PROBE_BLOCK = 250;
const PROBE_ADDRESSES = 8;
const PROBE_INTERVAL_MS = 200;
/** A request for the HTTP API's upstream (round robin, not hashed): any answer names the host, a 401 too. */
const API_PROBE_PATH = "/v1/channels";

/** The host ("127.0.0.1:port") nginx sends a short request for `path` from `localAddress` to now. */
export function upstreamFor(proxyUrl: string, localAddress: string, path = "/healthz"): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(new URL(path, proxyUrl), { localAddress, agent: false, timeout: 10_000 }, (response) => {
      response.resume();
      response.on("end", () => resolve(String(response.headers[UPSTREAM_HEADER.toLowerCase()] ?? "")));
    });
    request.on("timeout", () => request.destroy(new Error(`no answer from ${proxyUrl} for ${localAddress}`)));
    request.on("error", reject);
  });
}

/**
 * Resolves once nginx routes short requests to `upstream` again through both its upstreams: from
 * one of a few source addresses (those hashing to it, once nginx has taken the host back; until
 * then it passes them on to another host), and for the HTTP API. A host that failed is held back
 * for fail_timeout in each upstream on its own, and only a finished request brings it back: the
 * documented rolling restart waits for this before draining the next host, or the next host's
 * clients, and its publishers, have nowhere to go ("no live upstreams": 4–6 s of 503s to every
 * publish in two of five rounds when only the clients' upstream was probed).
 */
export async function untilRoutedTo(proxyUrl: string, upstream: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const candidates = Array.from({ length: PROBE_ADDRESSES }, (_, i) => `127.0.${PROBE_BLOCK}.${i + 1}`);
  while (Date.now() < deadline) {
    const probe = (path: string): Promise<string[]> => Promise.all(candidates.map((address) => upstreamFor(proxyUrl, address, path).catch(() => "")));
    const upstreams = await Promise.all([probe("/healthz"), probe(API_PROBE_PATH)]);
    if (upstreams.every((answers) => answers.includes(upstream))) return true;
    await sleep(PROBE_INTERVAL_MS);
  }
  return false;
}

/**
 * `perHost` addresses for each of `hosts` hosts from block `block`, interleaved (host A, host B,
 * host A, ...), so that any consumer taking them in turn lands on every host alike.
 */
export async function spreadAddresses(proxyUrl: string, block: number, hosts: number, perHost: number): Promise<string[]> {
  const byUpstream = new Map<string, string[]>();
  for (let i = 1; i <= CANDIDATES_PER_BLOCK; i++) {
    const address = `127.0.${block}.${i}`;
    const upstream = await upstreamFor(proxyUrl, address);
    byUpstream.set(upstream, [...(byUpstream.get(upstream) ?? []), address]);
    if (byUpstream.size === hosts && [...byUpstream.values()].every((list) => list.length >= perHost)) break;
  }
  const groups = [...byUpstream.values()];
  if (groups.length < hosts || groups.some((list) => list.length < perHost)) {
    throw new Error(`nginx spread ${CANDIDATES_PER_BLOCK} source addresses as ${groups.map((g) => g.length).join(" / ")}: fewer than ${perHost} for each of ${hosts} hosts`);
  }
  return Array.from({ length: perHost * hosts }, (_, i) => groups[i % hosts]![Math.floor(i / hosts)]!);
}
