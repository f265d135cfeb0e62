import { describeSchema } from "./doc.js";

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The schema key an unknown key was probably meant to be, if one is close enough. */
function closestKey(unknown: string, keys: string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const key of keys) {
    const distance = editDistance(unknown.toLowerCase(), key.toLowerCase());
    if (distance <= 3 && (best === undefined || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

/**
 * Rephrases convict's validation message for an operator, one problem a line: unknown keys get a
 * "did you mean", and with `names` (key -> env variable) each line names the variable to fix.
 */
export function explainValidation(message: string, names?: Map<string, string>): string {
  const keys = describeSchema().map((row) => row.key);
  return message
    .split("\n")
    .map((line) => {
      const undeclared = /^configuration param '(.+)' not declared in the schema$/.exec(line);
      if (undeclared) {
        const key = undeclared[1]!;
        const guess = closestKey(key, keys);
        return `${key}: unknown key${guess === undefined ? "" : ` (did you mean ${guess}?)`}; \`pusher config doc\` lists every key`;
      }
      const key = /^([\w.]+): /.exec(line)?.[1];
      const env = key === undefined ? undefined : names?.get(key);
      return env === undefined ? line : `${env} (${line.replace(": ", "): ")}`;
    })
    .join("\n");
}

/** "in <source>: <problem>", or one indented line per problem when there are several. */
export function inSource(source: string, problems: string): string {
  const lines = problems.split("\n");
  return lines.length === 1 ? `in ${source}: ${problems}` : `in ${source}:\n${lines.map((line) => `  ${line}`).join("\n")}`;
}
