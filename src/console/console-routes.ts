import path from "node:path";
import { APP_ROOT } from "../config/load.js";
import type { PusherConfig } from "../config/schema.js";
import { sendJson } from "../http/responses.js";
import type { ConsoleSeries } from "../protocol/console-series.js";
import type { Routes } from "../http/router.js";
import { SECURITY_HEADERS, staticAsset } from "./static-asset.js";

/** Where `npm run build` (scripts/build-client.mjs) writes the page and the client bundle. */
const DIST = path.join(APP_ROOT, "dist");

const HTML = "text/html; charset=utf-8";
const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const SOURCE_MAP = "application/json; charset=utf-8";

const SERIES_HEADERS = { ...SECURITY_HEADERS, "cache-control": "no-store" };

/** URL path → built file (under dist/) and its content type. */
const ASSETS: Readonly<Record<string, readonly [file: string, contentType: string]>> = {
  "/console": ["console/index.html", HTML],
  "/console/console.css": ["console/console.css", CSS],
  "/console/console.js": ["console/console.js", JS],
  "/console/console.js.map": ["console/console.js.map", SOURCE_MAP],
  // The shipped browser bundle itself, so the console exercises exactly what applications load.
  "/console/pusher-client.js": ["client/pusher-client.js", JS],
  "/console/pusher-client.js.map": ["client/pusher-client.js.map", SOURCE_MAP],
};

/** `console.enabled`: "auto" serves the console everywhere but in production. */
export function isConsoleEnabled(setting: PusherConfig["console"]["enabled"], nodeEnv: string | undefined): boolean {
  return setting === "on" || (setting === "auto" && nodeEnv !== "production");
}

/**
 * GET /console and its files when the console is enabled; no routes at all otherwise, so every
 * console path answers the router's 404 `not_found`, exactly like a path that never existed.
 */
export function consoleRoutes(settings: PusherConfig["console"], nodeEnv: string | undefined, series: () => Promise<ConsoleSeries>, distDir = DIST): Routes {
  if (!isConsoleEnabled(settings.enabled, nodeEnv)) return {};
  // Per-worker connections and message rate, from the primary's ring: what /metrics shows now, over the last minutes.
  const routes: Routes = { "/console/series.json": { GET: async (_req, res) => sendJson(res, 200, await series(), SERIES_HEADERS) } };
  for (const [urlPath, [file, contentType]] of Object.entries(ASSETS)) {
    routes[urlPath] = { GET: staticAsset(path.join(distDir, file), contentType) };
  }
  return routes;
}
