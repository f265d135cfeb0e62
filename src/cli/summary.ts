import { describeSchema } from "../config/doc.js";
import type { PusherConfig } from "../config/schema.js";

function valueAt(config: PusherConfig, key: string): unknown {
  return key.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], config);
}

function isEmpty(value: unknown): boolean {
  return value === "" || (Array.isArray(value) && value.length === 0);
}

/** One "key = value" line per setting; sensitive values are shown only as set or empty. */
export function summarizeConfig(config: PusherConfig): string[] {
  const rows = describeSchema();
  const width = Math.max(...rows.map((row) => row.key.length));
  return rows.map((row) => {
    const value = valueAt(config, row.key);
    let shown = JSON.stringify(value);
    if (row.sensitive && !isEmpty(value)) {
      const note = JSON.stringify(value) === JSON.stringify(row.default) ? ", development default" : "";
      shown = Array.isArray(value) ? `<redacted: ${value.length} set${note}>` : `<redacted${note}>`;
    }
    return `  ${row.key.padEnd(width)} = ${shown}`;
  });
}
