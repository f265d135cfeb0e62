import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { TestContext } from "node:test";
import { chromium, type Browser } from "playwright-core";

/** Debian's chromium package: playwright-core drives it; .ci/run installs it. */
export const CHROMIUM = "/usr/bin/chromium";

// This machine's network is closed: without these, Chromium waits on Google's services
// (component updates, sync, QUIC probes) before pages load.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Launches headless Chromium (a fresh temporary profile each time); closed by `t.after`. */
export async function launchChromium(t: TestContext): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium), as .ci/run does`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });
  t.after(() => browser.close());
  return browser;
}
