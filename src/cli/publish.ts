import { parseArgs } from "node:util";
import type { PusherConfig } from "../config/schema.js";
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIO } from "./io.js";
import { loadConfigOrReport } from "./load-config.js";

// Above publish.timeoutMs's default (10 s): during a failover the server holds a publish that long.
const REQUEST_TIMEOUT_MS = 30_000;

const OPTIONS = {
  channel: { type: "string", multiple: true },
  event: { type: "string" },
  data: { type: "string" },
  id: { type: "string" },
  url: { type: "string" },
  key: { type: "string" },
} as const;

function parseData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--data is not JSON (${(err as Error).message}); quote it, e.g. --data '{"n":1}'`);
  }
}

/** A wildcard listen address is reached over loopback; a specific one is used as is. */
function serverUrl(config: PusherConfig): string {
  if (config.server.port === 0) throw new UsageError("server.port is 0 (a random port), so pass --url");
  const host = config.server.host;
  const reachable = host === "" || host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return `http://${reachable}:${config.server.port}`;
}

function describeBody(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** `pusher publish`: one POST /v1/publish, printing the response; exit 1 unless 2xx. */
export async function publishCommand(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args, options: OPTIONS });
  const channels = values.channel ?? [];
  if (channels.length === 0 || values.event === undefined || values.data === undefined) {
    throw new UsageError("publish needs --channel, --event and --data");
  }
  const body = {
    ...(channels.length === 1 ? { channel: channels[0] } : { channels }),
    event: values.event,
    data: parseData(values.data),
    ...(values.id === undefined ? {} : { id: values.id }),
  };

  let url = values.url;
  let key = values.key ?? io.env.PUSHER_API_KEY;
  if (url === undefined || key === undefined) {
    const config = loadConfigOrReport(io);
    if (config === undefined) return EXIT_FAILED;
    url ??= serverUrl(config);
    key ??= config.auth.apiKeys[0];
    if (key === undefined) throw new UsageError("auth.apiKeys is empty, so pass --key or set PUSHER_API_KEY");
  }

  const endpoint = new URL("/v1/publish", url);
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
    io.err(`publish to ${endpoint.href} failed: ${cause}`);
    return EXIT_FAILED;
  }
  const text = describeBody(await res.text());
  if (res.ok) {
    io.out(text);
    return EXIT_OK;
  }
  const retry = res.headers.get("retry-after");
  io.err(`HTTP ${res.status}${retry === null ? "" : ` (Retry-After: ${retry})`} from ${endpoint.href}`);
  io.err(text);
  return EXIT_FAILED;
}
