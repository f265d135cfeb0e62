/**
 * Loopback source addresses that nginx's `hash $remote_addr consistent` spreads evenly over the
 * hosts. Every client here comes from loopback; left to chance, a handful of addresses can all
 * hash to one host and a host fault would then hit no client (or every one).
 */
import http from "node:http";
import { UPSTREAM_HEADER } from "../../test/helpers/nginx.js";

/** Candidates 127.0.<block>.1, .2, ...: each consumer of addresses takes its own block. */
const CANDIDATES_PER_BLOCK = 64;

function upstreamFor(proxyUrl: string, localAddress: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(new URL("/healthz", proxyUrl), { localAddress, agent: false, timeout: 10_000 }, (response) => {
      response.resume();
      response.on("end", () => resolve(String(response.headers[UPSTREAM_HEADER.toLowerCase()] ?? "")));
    });
    request.on("timeout", () => request.destroy(new Error(`no answer from ${proxyUrl} for ${localAddress}`)));
    request.on("error", reject);
  });
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
