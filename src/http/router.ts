import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { PusherError } from "../protocol/errors.js";
import { sendError } from "./responses.js";

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;
export type Routes = Record<string, Partial<Record<"GET" | "POST", RouteHandler>>>;

/** The handlers of a path, or of the longest route ending in "/*" that the path starts with. */
function routeOf(routes: Routes, path: string): Routes[string] | undefined {
  if (Object.hasOwn(routes, path)) return routes[path];
  for (let cut = path.lastIndexOf("/"); cut > 0; cut = path.lastIndexOf("/", cut - 1)) {
    const wildcard = `${path.slice(0, cut)}/*`;
    if (Object.hasOwn(routes, wildcard)) return routes[wildcard];
  }
  return undefined;
}

/**
 * Dispatches by path (exact, or a "/*" prefix route whose handler reads the rest) and method; errors thrown by handlers become table-coded JSON answers.
 * Anything that is not a PusherError is a defect answered as a bare 500, and so is a coded
 * `internal` (a broker request the primary failed on: its cause is in the primary's log): both are
 * logged, with the cause where this process has it, since the answer deliberately says nothing.
 */
export function createRouter(routes: Routes, logger: Logger): RequestListener {
  return (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0] as string;
    const byMethod = routeOf(routes, path);
    const handler = byMethod?.[req.method as "GET" | "POST"];
    if (!handler) {
      sendError(res, new PusherError(byMethod ? "method_not_allowed" : "not_found"));
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        if (!(err instanceof PusherError) || err.code === "internal") logger.error({ err, method: req.method, path }, "request failed");
        if (!res.headersSent) sendError(res, err);
        else res.destroy();
      });
  };
}
