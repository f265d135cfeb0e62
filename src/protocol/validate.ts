import type { z } from "zod";
import { PusherError } from "./errors.js";
import { describeIssue } from "./messages.js";

/**
 * Parses untrusted input or throws a PusherError naming the bad field. A bad channel name gets its
 * own code (`invalid_channel`) so clients can tell it from a malformed request.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const field = result.error.issues[0]?.path[0];
  const code = field === "channel" || field === "channels" ? "invalid_channel" : "invalid_request";
  throw new PusherError(code, describeIssue(result.error));
}
