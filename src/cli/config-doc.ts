import { parseArgs } from "node:util";
import { describeSchema, type SettingDoc } from "../config/doc.js";
import { EXIT_OK, type CliIO } from "./io.js";

function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

function defaultCell(row: SettingDoc): string {
  const shown = `\`${JSON.stringify(row.default)}\``;
  return row.sensitive && row.default !== "" ? `${shown} (development only; refused in production)` : shown;
}

/** The settings as a Markdown table, as pasted into docs/configuration.md. */
export function settingsMarkdown(rows: SettingDoc[]): string {
  const lines = ["| key | env | default | allowed | doc |", "|---|---|---|---|---|"];
  for (const row of rows) {
    const doc = row.sensitive ? `${row.doc} (secret: redacted by \`config check\`)` : row.doc;
    lines.push(`| \`${row.key}\` | ${row.env ? `\`${row.env}\`` : "-"} | ${cell(defaultCell(row))} | ${cell(row.format)} | ${cell(doc)} |`);
  }
  return lines.join("\n");
}

/** `pusher config doc [--json]`: every setting of the schema. */
export function configDoc(args: string[], io: CliIO): number {
  const { values } = parseArgs({ args, options: { json: { type: "boolean", default: false } } });
  const rows = describeSchema();
  io.out(values.json ? JSON.stringify(rows, null, 2) : settingsMarkdown(rows));
  return EXIT_OK;
}
