import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { ROOT } from "./cli.js";
import { run, shown } from "./run-command.js";

/** What scripts/package.sh made from this checkout's build. */
export interface Release {
  version: string;
  /** The Debian version (npm's "-" reads "~"). */
  debVersion: string;
  tarball: string;
  deb: string;
}

/** Builds the tarball and the .deb into `out` with scripts/package.sh --skip-build, as `version` (default package.json's). */
export async function buildRelease(out: string, version?: string): Promise<Release> {
  const built = await run("bash", [path.join(ROOT, "scripts/package.sh"), "--skip-build", "--out", out, ...(version ? ["--version", version] : [])]);
  assert.equal(built.code, 0, shown(built));
  version ??= (JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;
  const arch = (await run("dpkg", ["--print-architecture"])).stdout.trim();
  const debVersion = version.replaceAll("-", "~");
  return { version, debVersion, tarball: path.join(out, `pusher-${version}.tar.gz`), deb: path.join(out, `pusher_${debVersion}_${arch}.deb`) };
}
