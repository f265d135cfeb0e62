import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { joinPresence, type ChannelView } from "../helpers/presence.js";
import { startPusher } from "../helpers/pusher.js";
import { presenceSuite, SUITE_ENV } from "./presence-suite.js";

/** Presence and channel state in embedded mode: one host, the primary combining two workers. */

presenceSuite("embedded", async (t) => {
  const host = await startPusher(t, { workers: 2, env: SUITE_ENV });
  return [host.url, host.url];
});

test("embedded: a killed worker's members are removed at once", async (t) => {
  const host = await startPusher(t, { workers: 2, env: { ...SUITE_ENV, PUSHER_MAX_PRESENCE_MEMBERS: "0" } });
  const room = `presence-${randomUUID().slice(0, 8)}`;
  // Least-connection routing spreads them over both workers.
  const views: ChannelView[] = [];
  for (let i = 0; i < 6; i++) views.push(await joinPresence(t, host.url, room, `u${i}`));
  const all = views.map((_, i) => `u${i}`);
  await Promise.all(views.map((v) => v.membersAre(all)));
  const dropped = new Set<string>();
  views.forEach((view, i) => view.client.on("state", (state) => state === "disconnected" && dropped.add(`u${i}`)));
  process.kill(host.workers.get(0)!, "SIGKILL");
  const survivors = (): ChannelView[] => views.filter((_, i) => !dropped.has(`u${i}`));
  await views[0]!.until(() => dropped.size > 0, "some connections dropped with the worker");
  const survivor = survivors()[0];
  assert.ok(survivor, "least-connection routing put some users on the other worker");
  await survivor.until(() => [...dropped].every((id) => survivor.removed.includes(id)), "every dropped user removed");
  // They reconnect to the living worker and join again.
  await survivor.membersAre(all);
});
