/**
 * The console page (served at /console): one connection through the shipped client bundle
 * (`PusherClient`, loaded by its own script tag before this one), a subscribe form, the message
 * log and a publish form; the occupied channels and presence members, and each worker's figures.
 */
import type { PusherClient as PusherClientClass } from "../../client/index.js";
import { showState } from "./connection-badge.js";
import { ChannelsPanel } from "./channels-panel.js";
import { byId } from "./dom.js";
import { MessageLog } from "./message-log.js";
import { PublishPanel } from "./publish-panel.js";
import { SeriesPanel } from "./series-panel.js";
import { SubscriptionsPanel } from "./subscriptions-panel.js";

function start(): void {
  const badge = byId("connection-state");
  const PusherClient = (globalThis as { PusherClient?: typeof PusherClientClass }).PusherClient;
  if (PusherClient === undefined) {
    showState(badge, "unavailable", { reason: "console/pusher-client.js did not load" });
    return;
  }
  const log = new MessageLog(byId("log-rows"), byId("log-empty"), byId("log-clear"));
  const publishChannel = byId<HTMLInputElement>("publish-channel");

  // The page's own origin: the console talks only to the host that served it (and its CSP says so).
  const client = new PusherClient(location.origin);
  client.on("state", (state, detail) => showState(badge, state, detail));
  client.on("error", (error) => log.notice("error", "", error instanceof Error ? error.message : String(error)));
  showState(badge, client.state);

  new SubscriptionsPanel(
    client,
    {
      form: byId("subscribe-form"),
      channel: byId("subscribe-channel"),
      token: byId("subscribe-token"),
      error: byId("subscribe-error"),
      rows: byId("subscription-rows"),
      empty: byId("subscriptions-empty"),
    },
    log,
    (channel) => {
      if (publishChannel.value === "") publishChannel.value = channel;
    },
  );
  new PublishPanel(
    {
      form: byId("publish-form"),
      key: byId("publish-key"),
      channel: publishChannel,
      event: byId("publish-event"),
      data: byId("publish-data"),
      id: byId("publish-id"),
      submit: byId("publish-submit"),
      result: byId("publish-result"),
    },
    new URL("/v1/publish", location.origin).href,
  );
  new ChannelsPanel(
    {
      key: byId("publish-key"),
      status: byId("channels-status"),
      rows: byId("channel-rows"),
      membersTitle: byId("members-title"),
      members: byId("member-list"),
      membersStatus: byId("members-status"),
    },
    location.origin,
  );
  new SeriesPanel({ rows: byId("series-rows"), status: byId("series-status") }, new URL("/console/series.json", location.origin).href);
}

start();
