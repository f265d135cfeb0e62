#!/usr/bin/env node
/**
 * Bundles the client helper for browsers (DESIGN §3):
 *   dist/client/pusher-client.js   IIFE for a <script> tag; defines the global `PusherClient` class
 *   dist/client/pusher-client.mjs  ES module exporting PusherClient and its helpers
 * Both minified with source maps. It bundles from the TypeScript sources (esbuild strips types and
 * maps the `.js` import specifiers to `.ts`), so it works from a clean checkout without tsc.
 *
 * Unless --outdir is given, it also builds the console page (docs/console.md) into dist/console/:
 * index.html and console.css copied, console.js bundled from src/console/page/ after a type check
 * against that folder's own tsconfig (DOM types; the root project leaves the folder out).
 *
 * Usage: node scripts/build-client.mjs [--outdir <dir>]   (default dist/client)
 */
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const flag = process.argv.indexOf("--outdir");
const clientOnly = flag >= 0 && process.argv[flag + 1] !== undefined;
const outdir = clientOnly ? path.resolve(process.argv[flag + 1]) : path.join(root, "dist/client");
const pageSrc = path.join(root, "src/console/page");
const pageOut = path.join(root, "dist/console");

const common = {
  bundle: true,
  minify: true,
  sourcemap: true,
  // "browser" makes socket.io-client resolve to its browser build (no ws, no Node http).
  platform: "browser",
  // Browsers the socket.io-client v4 build itself supports; private fields are down-levelled.
  target: ["es2018"],
  legalComments: "eof",
  logLevel: "warning",
  absWorkingDir: root,
};

await Promise.all([
  build({
    ...common,
    entryPoints: [path.join(root, "src/client/browser-global.ts")],
    format: "iife",
    outfile: path.join(outdir, "pusher-client.js"),
  }),
  build({
    ...common,
    entryPoints: [path.join(root, "src/client/index.ts")],
    format: "esm",
    outfile: path.join(outdir, "pusher-client.mjs"),
  }),
]);
console.log(`client bundles written to ${path.relative(process.cwd(), outdir) || "."}`);

if (!clientOnly) {
  execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", pageSrc], { stdio: "inherit" });
  await mkdir(pageOut, { recursive: true });
  await Promise.all([
    build({ ...common, entryPoints: [path.join(pageSrc, "main.ts")], format: "iife", outfile: path.join(pageOut, "console.js") }),
    ...["index.html", "console.css"].map((file) => copyFile(path.join(pageSrc, file), path.join(pageOut, file))),
  ]);
  console.log(`console page written to ${path.relative(process.cwd(), pageOut)}`);
}
