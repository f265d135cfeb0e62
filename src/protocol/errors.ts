/**
 * The one table of error codes. Socket acks, HTTP answers and logs take their code, message,
 * HTTP status and Retry-After (seconds, for the codes a caller should retry) from here; nothing
 * else spells an error code. docs/protocol.md and docs/publishing.md document every code (a unit
 * test checks).
 */
export const errorTable = {
  invalid_request: { status: 400, message: "The request is malformed" },
  invalid_channel: { status: 400, message: "Channel names are 1-200 characters of A-Z a-z 0-9 _ - = @ , . ; :" },
  unauthorized: { status: 401, message: "A valid API key is required (Authorization: Bearer <key>)" },
  forbidden: { status: 403, message: "This channel needs a valid token that names it" },
  not_found: { status: 404, message: "No such endpoint" },
  method_not_allowed: { status: 405, message: "Method not allowed on this endpoint" },
  payload_too_large: { status: 413, message: "The payload is larger than limits.maxPayloadBytes" },
  payload_too_deep: { status: 400, message: "The payload nests arrays and objects deeper than limits.maxPayloadDepth" },
  too_many_channels: { status: 429, message: "This host holds limits.maxChannels channels with messages; publish to an existing channel or retry once idle ones expire" },
  too_many_subscriptions: { status: 429, message: "This socket holds limits.maxSubscriptionsPerSocket subscriptions already" },
  rate_limited: { status: 429, message: "Rate limit exceeded; retry later", retryAfterSeconds: 1 },
  unavailable: { status: 503, message: "The message broker is unavailable; retry later", retryAfterSeconds: 1 },
  draining: { status: 503, message: "This host is shutting down; reconnect elsewhere", retryAfterSeconds: 1 },
  presence_full: { status: 403, message: "This presence channel holds limits.maxPresenceMembers members already" },
  presence_user_required: { status: 403, message: "A presence channel's token must carry user: { id, info? } (info at most limits.maxPresenceInfoBytes of JSON)" },
  client_events_not_allowed: { status: 403, message: "Client events are allowed on private-* and presence-* channels only" },
  invalid_client_event: { status: 400, message: "A client event's name must start with client- and its data stay within limits.maxClientEventBytes" },
  not_subscribed: { status: 403, message: "This socket is not subscribed to the channel" },
  too_many_connections: { status: 503, message: "This host holds limits.maxConnections connections; reconnect later or elsewhere", retryAfterSeconds: 1 },
  internal: { status: 500, message: "Internal error" },
} as const satisfies Record<string, { status: number; message: string; retryAfterSeconds?: number }>;

export type ErrorCode = keyof typeof errorTable;

/** The table's Retry-After for a code, in seconds; undefined for codes a retry does not help. */
export function retryAfterOf(code: ErrorCode): number | undefined {
  const entry = errorTable[code];
  return "retryAfterSeconds" in entry ? entry.retryAfterSeconds : undefined;
}

/** The error shape sent to clients in acks and HTTP bodies. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** An error that carries a code from the table; thrown inside request handling, answered at the edge. */
export class PusherError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Seconds the caller should wait before retrying (503, 429): the table's, unless the cause knows better. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, detail?: string, retryAfter: number | undefined = retryAfterOf(code)) {
    super(detail ?? errorTable[code].message);
    this.name = "PusherError";
    this.code = code;
    this.status = errorTable[code].status;
    this.retryAfter = retryAfter;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

/** Turns anything thrown into a client-safe error body: unknown errors never leak their text. */
export function toErrorBody(err: unknown): ErrorBody {
  return err instanceof PusherError ? err.toBody() : { code: "internal", message: errorTable.internal.message };
}
