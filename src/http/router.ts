import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { PusherError } from "../protocol/errors.js";
import { sendError } from "./responses.js";

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;
export type Routes = Record<string, Partial<Record<"GET" | "POST", RouteHandler>>>;

/** Dispatches by exact path and method; errors thrown by handlers become table-coded JSON answers. */
export function createRouter(routes: Routes): RequestListener {
  return (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0] as string;
    const byMethod = routes[path];
    const handler = byMethod?.[req.method as "GET" | "POST"];
    if (!handler) {
      sendError(res, new PusherError(byMethod ? "method_not_allowed" : "not_found"));
      return;
    }
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        if (!res.headersSent) sendError(res, err);
        else res.destroy();
      });
  };
}
