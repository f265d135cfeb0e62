import { schema } from "./schema.js";

/** One setting as `pusher config doc` prints it. */
export interface SettingDoc {
  /** Dotted key, as written in a config file (`server.port`). */
  key: string;
  /** Environment variable that overrides it ("" when there is none). */
  env: string;
  default: unknown;
  /** Allowed values, in words. */
  format: string;
  doc: string;
  /** Redacted by `pusher config check` and in error messages. */
  sensitive: boolean;
}

// Words for the formats registered in schema.ts; a format missing here is shown by its name.
const FORMAT_WORDS: Record<string, string> = {
  port: "port, 0-65535",
  nat: "whole number, 0 or more",
  "transport-list": "list of polling, websocket",
  "host-port-list": 'list of "host:port"',
  "string-list": "list of non-empty strings",
  "url-list": "list of http:// or https:// URLs",
};

interface Leaf {
  doc: string;
  format: unknown;
  default: unknown;
  env?: string;
  sensitive?: boolean;
}

function isLeaf(node: object): node is Leaf {
  return "default" in node && "format" in node;
}

function describeFormat(format: unknown): string {
  if (Array.isArray(format)) return `one of ${format.join(", ")}`;
  if (format === String) return "string";
  if (typeof format === "string") return FORMAT_WORDS[format] ?? format;
  return typeof format === "function" ? format.name.toLowerCase() : String(format);
}

/** Every setting of the schema, in schema order: the single source for `config doc` and the docs. */
export function describeSchema(): SettingDoc[] {
  const rows: SettingDoc[] = [];
  const walk = (node: object, prefix: string): void => {
    for (const [name, child] of Object.entries(node) as [string, object][]) {
      const key = prefix + name;
      if (!isLeaf(child)) {
        walk(child, `${key}.`);
        continue;
      }
      rows.push({
        key,
        env: child.env ?? "",
        default: child.default,
        format: describeFormat(child.format),
        doc: child.doc,
        sensitive: child.sensitive === true,
      });
    }
  };
  walk(schema, "");
  return rows;
}

/** Env variable name by dotted key, for error messages. */
export function envNames(): Map<string, string> {
  return new Map(describeSchema().filter((row) => row.env !== "").map((row) => [row.key, row.env]));
}

/** "redis.name (PUSHER_REDIS_NAME)": a key as an error message names it, with the variable that sets it. */
export function settingName(key: string): string {
  const env = envNames().get(key);
  return env === undefined ? key : `${key} (${env})`;
}
