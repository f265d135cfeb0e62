import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RouteHandler } from "../http/router.js";
import { PusherError } from "../protocol/errors.js";

/**
 * Every console response carries these. The page runs only its own scripts and styles and talks
 * only to its own origin (CSP 'self' covers same-origin ws: and wss: too), so injected markup
 * could neither run nor send the API key typed into the page anywhere else.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

interface LoadedAsset {
  body: Buffer;
  etag: string;
}

/**
 * A GET handler for one built file, read once per worker and then served from memory. The names
 * are not fingerprinted, so browsers revalidate every time (`no-cache`) and get a 304 while the
 * file is unchanged: a page never runs a script from an older release.
 */
export function staticAsset(file: string, contentType: string): RouteHandler {
  let loading: Promise<LoadedAsset> | undefined;
  const load = (): Promise<LoadedAsset> => {
    loading ??= readFile(file).then(
      (body) => ({ body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` }),
      (err: NodeJS.ErrnoException) => {
        // Not cached: a build finishing after the worker started is picked up by the next request.
        loading = undefined;
        if (err.code === "ENOENT") throw new PusherError("not_found", `${file} is missing: run npm run build`);
        throw err;
      },
    );
    return loading;
  };
  return async (req: IncomingMessage, res: ServerResponse) => {
    const { body, etag } = await load();
    const headers = { ...SECURITY_HEADERS, "cache-control": "no-cache", etag };
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, "content-type": contentType, "content-length": body.length });
    res.end(body);
  };
}
