import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "./root.js";

/**
 * The shipped nginx files as directive trees, so tests check and run the very directives operators
 * install instead of a copy that could drift from them.
 */

const NGINX_DIR = path.join(ROOT, "nginx");
export const SHIPPED_CONF = path.join(NGINX_DIR, "pusher.conf");
export const SHIPPED_SNIPPET = path.join(NGINX_DIR, "pusher-proxy.conf");

/** One directive: `name args;` or `name args { block }`. Arguments keep their quotes as written. */
export interface Directive {
  name: string;
  args: string[];
  block?: Directive[];
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "{" || c === "}" || c === ";") {
      tokens.push(c);
      i++;
    } else if (c === "'" || c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== c) end += text[end] === "\\" ? 2 : 1;
      tokens.push(text.slice(i, end + 1));
      i = end + 1;
    } else {
      let end = i;
      while (end < text.length && !/[\s{};#'"]/.test(text[end]!)) end++;
      tokens.push(text.slice(i, end));
      i = end;
    }
  }
  return tokens;
}

/** Parses nginx configuration text (no `${var}` forms, which these files do not use). */
export function parseNginxConf(text: string): Directive[] {
  const tokens = tokenize(text);
  let at = 0;
  const parseBlock = (nested: boolean): Directive[] => {
    const directives: Directive[] = [];
    let words: string[] = [];
    while (at < tokens.length) {
      const token = tokens[at++]!;
      if (token === ";") {
        directives.push({ name: words[0]!, args: words.slice(1) });
        words = [];
      } else if (token === "{") {
        directives.push({ name: words[0]!, args: words.slice(1), block: parseBlock(true) });
        words = [];
      } else if (token === "}") {
        if (!nested) throw new Error("unbalanced } in nginx configuration");
        return directives;
      } else {
        words.push(token);
      }
    }
    if (nested || words.length > 0) throw new Error("nginx configuration ends inside a directive or block");
    return directives;
  };
  return parseBlock(false);
}

export function renderNginxConf(directives: Directive[], indent = ""): string {
  return directives
    .map(({ name, args, block }) => {
      const head = `${indent}${[name, ...args].join(" ")}`;
      return block ? `${head} {\n${renderNginxConf(block, `${indent}    `)}${indent}}\n` : `${head};\n`;
    })
    .join("");
}

/** The directives named `name` whose arguments begin with `args`. */
export function findAll(directives: Directive[], name: string, ...args: string[]): Directive[] {
  return directives.filter((d) => d.name === name && args.every((arg, i) => d.args[i] === arg));
}

/** The one directive named `name` (with leading `args`); throws if there is none or several. */
export function findOne(directives: Directive[], name: string, ...args: string[]): Directive {
  const found = findAll(directives, name, ...args);
  if (found.length !== 1) throw new Error(`expected one "${[name, ...args].join(" ")}" directive, found ${found.length}`);
  return found[0]!;
}

/** Every directive in the tree, depth first, with the ones inside blocks. */
export function walk(directives: Directive[]): Directive[] {
  return directives.flatMap((d) => [d, ...walk(d.block ?? [])]);
}

export function readShippedConf(): Directive[] {
  return parseNginxConf(readFileSync(SHIPPED_CONF, "utf8"));
}

export function readShippedSnippet(): Directive[] {
  return parseNginxConf(readFileSync(SHIPPED_SNIPPET, "utf8"));
}

/** The name of the upstream a location proxies to (`proxy_pass http://<name>`). */
export function proxiedUpstreamName(location: Directive): string {
  const target = findOne(location.block ?? [], "proxy_pass").args[0] ?? "";
  const name = /^https?:\/\/([^/:]+)$/.exec(target)?.[1];
  if (name === undefined) throw new Error(`proxy_pass ${target} does not name an upstream`);
  return name;
}

/** The server blocks that serve pusher: those with TLS listeners (the port-80 one only redirects). */
export function pusherServers(conf: Directive[]): Directive[] {
  const servers = findAll(conf, "server").filter((s) => findAll(s.block ?? [], "listen").some((l) => l.args.includes("ssl")));
  if (servers.length === 0) throw new Error("the shipped pusher.conf has no TLS server block");
  return servers;
}

/** The shipped locations, named ones included, with the snippet include pointed at `snippetPath`. */
export function shippedLocations(conf: Directive[], snippetPath: string): Directive[] {
  const locations = findAll(pusherServers(conf)[0]!.block!, "location");
  return locations.map((location) => ({
    ...location,
    block: location.block?.map((d) => (d.name === "include" && path.basename(d.args[0] ?? "") === path.basename(SHIPPED_SNIPPET) ? { ...d, args: [snippetPath] } : d)),
  }));
}

/**
 * The shipped upstream with its hosts replaced by loopback `ports`, each with the parameters of
 * the shipped first server line (max_fails, fail_timeout, ...); every other directive kept.
 */
export function loopbackUpstream(conf: Directive[], name: string, ports: number[]): Directive {
  const upstream = findOne(conf, "upstream", name);
  const body = upstream.block ?? [];
  const parameters = findAll(body, "server")[0]?.args.slice(1);
  if (parameters === undefined) throw new Error(`upstream ${name} has no server line to copy parameters from`);
  const servers = ports.map((port) => ({ name: "server", args: [`127.0.0.1:${port}`, ...parameters] }));
  return { ...upstream, block: [...body.filter((d) => d.name !== "server"), ...servers] };
}
