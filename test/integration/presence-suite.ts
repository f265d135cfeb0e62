import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test, type TestContext } from "node:test";
import { channelToken } from "../helpers/tokens.js";
import { connectSocket, postJson, publish, subscribe } from "../helpers/clients.js";
import { ChannelView, disconnectUser, getJson, joinPresence, stateEventually } from "../helpers/presence.js";
import { withTimeout } from "../helpers/with-timeout.js";

/**
 * Presence, client events and the channel state API, held to the same behaviour in every mode:
 * `setup` gives two URLs that reach different workers (embedded mode) or different hosts (Redis).
 */
export type PlacesSetup = (t: TestContext) => Promise<[string, string]>;

const fresh = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

export function presenceSuite(mode: string, setup: PlacesSetup): void {
  test(`${mode}: members are seen from both places, and a user with two connections is one member`, async (t) => {
    const [a, b] = await setup(t);
    const channel = fresh("presence-room");
    const alice = await joinPresence(t, a, channel, "alice", { name: "Alice" });
    assert.deepEqual(alice.memberIds, ["alice"], "the ack lists the joining user");
    const bob = await joinPresence(t, b, channel, "bob");
    assert.deepEqual(bob.memberIds, ["alice", "bob"]);
    assert.deepEqual(bob.member("alice")?.info, { name: "Alice" }, "info travels with the member");
    await alice.membersAre(["alice", "bob"]);

    const aliceAgain = await joinPresence(t, b, channel, "alice", { name: "Alice" });
    assert.deepEqual(aliceAgain.memberIds, ["alice", "bob"]);
    // Events of one channel arrive in order: once carol's is seen, a second alice would have been too.
    const carol = await joinPresence(t, a, channel, "carol");
    await bob.until(() => bob.added.includes("carol"), "carol added");
    await alice.until(() => alice.added.includes("carol"), "carol added, as alice sees it");
    assert.deepEqual(bob.added, ["carol"], "alice's second connection added nobody");
    assert.deepEqual(alice.added, ["bob", "carol"]);

    alice.client.close();
    carol.client.close();
    await bob.until(() => bob.removed.includes("carol"), "carol removed");
    assert.deepEqual(bob.removed, ["carol"], "alice still has a connection: she stays");
    aliceAgain.client.close();
    await bob.membersAre(["bob"]);
    assert.deepEqual(bob.removed, ["carol", "alice"]);
  });

  test(`${mode}: client events reach the other subscribers in both places, not the sender`, async (t) => {
    const [a, b] = await setup(t);
    const channel = fresh("private-chat");
    const token = await channelToken({ channel });
    const views = [new ChannelView(t, a, channel, token), new ChannelView(t, a, channel, token), new ChannelView(t, b, channel, token)];
    await Promise.all(views.map((v) => v.subscription.ready));
    const [sender, near, far] = views as [ChannelView, ChannelView, ChannelView];
    assert.deepEqual(await sender.subscription.trigger("client-typing", { who: "sender" }), { ok: true });
    await near.until(() => near.clientEvents.length === 1, "the event on the sender's host");
    await far.until(() => far.clientEvents.length === 1, "the event on the other host");
    assert.deepEqual(far.clientEvents[0], { channel, event: "client-typing", data: { who: "sender" } });
    // The sender hears the next event, so the first one would have reached it before.
    assert.deepEqual(await far.subscription.trigger("client-typing", { who: "far" }), { ok: true });
    await sender.until(() => sender.clientEvents.length === 1, "the far subscriber's event");
    assert.deepEqual(sender.clientEvents.map((e) => e.data), [{ who: "far" }], "not echoed to its sender");

    const room = fresh("presence-chat");
    const alice = await joinPresence(t, a, room, "alice");
    const bob = await joinPresence(t, b, room, "bob");
    await alice.subscription.trigger("client-wave", 1);
    await bob.until(() => bob.clientEvents.length === 1, "alice's wave");
    assert.equal(bob.clientEvents[0]?.user_id, "alice", "presence channels name the sender");
  });

  test(`${mode}: client events are refused with a clear code`, async (t) => {
    const [a] = await setup(t);
    const socket = await connectSocket(t, a, { transports: ["websocket"] });
    const open = fresh("public");
    const privy = fresh("private-x");
    await subscribe(socket, open);
    await subscribe(socket, privy, { token: await channelToken({ channel: privy }) });
    const send = (channel: string, event: string, data: unknown = 1) => socket.timeout(5000).emitWithAck("client-event", { channel, event, data });
    const code = (ack: Awaited<ReturnType<typeof send>>): string => (ack.ok ? "ok" : ack.error.code);
    assert.equal(code(await send(open, "client-x")), "client_events_not_allowed");
    assert.equal(code(await send(privy, "typing")), "invalid_client_event");
    assert.equal(code(await send(fresh("private-y"), "client-x")), "not_subscribed");
    assert.equal(code(await send(privy, "client-x", "x".repeat(11_000))), "invalid_client_event", "over limits.maxClientEventBytes");
    const burst = await Promise.all(Array.from({ length: 15 }, () => send(privy, "client-x")));
    assert.ok(burst.some((ack) => code(ack) === "rate_limited"), "limits.clientEventRatePerSecond (10) per socket");
  });

  test(`${mode}: the channel state API counts subscribers and members in both places`, async (t) => {
    const [a, b] = await setup(t);
    const prefix = fresh("state");
    const open = `${prefix}-open`;
    const sockets = await Promise.all([connectSocket(t, a), connectSocket(t, a), connectSocket(t, b)]);
    for (const socket of sockets) await subscribe(socket, open);
    await publish(a, { channel: open, event: "e", data: 1 });
    await publish(b, { channel: open, event: "e", data: 2 });
    const one = await stateEventually(b, `/v1/channels/${open}`, (body) => body.subscribers === 3);
    assert.equal(one.occupied, true);
    assert.equal(one.head.offset, 2, "the head is the channel's last offset");
    assert.equal(one.members, undefined, "members are counted on presence channels only");

    const room = `presence-${prefix}`;
    await joinPresence(t, a, room, "alice");
    await joinPresence(t, b, room, "alice");
    await joinPresence(t, b, room, "bob");
    const counts = await stateEventually(a, `/v1/channels/${room}`, (body) => body.subscribers === 3);
    assert.equal(counts.members, 2, "alice's two connections are one member");
    const members = await getJson(b, `/v1/channels/${room}/members`);
    assert.deepEqual(members.body.members.map((m: { id: string }) => m.id).sort(), ["alice", "bob"]);
    const list = await stateEventually(a, `/v1/channels?prefix=${prefix}`, (body) => body.channels.length === 1);
    assert.deepEqual(list.channels, [{ channel: open, subscribers: 3 }]);

    for (const socket of sockets) socket.disconnect();
    await stateEventually(a, `/v1/channels/${open}`, (body) => body.occupied === false && body.subscribers === 0);
    assert.deepEqual((await getJson(a, `/v1/channels?prefix=${prefix}`)).body.channels, []);

    assert.equal((await fetch(`${a}/v1/channels`)).status, 401);
    assert.equal((await getJson(a, "/v1/channels/bad%20name")).body.error.code, "invalid_channel");
    assert.equal((await getJson(a, `/v1/channels/${open}/members`)).status, 400);
  });

  test(`${mode}: a user disconnect closes that user's connections in both places`, async (t) => {
    const [a, b] = await setup(t);
    const room = fresh("presence-revoked");
    const byAuth = await connectSocket(t, a, { auth: { token: await channelToken({ user: { id: "mallory" } }) } });
    const mallory = await joinPresence(t, b, room, "mallory");
    const bob = await joinPresence(t, a, room, "bob");
    await subscribe(byAuth, fresh("news"));
    const closed = withTimeout(new Promise((resolve) => byAuth.once("disconnect", resolve)), 10_000, "the auth.token connection closed");
    const gone = new Promise((resolve) => mallory.client.on("state", (state) => state === "disconnected" && resolve(state)));
    const res = await disconnectUser(a, "mallory");
    assert.deepEqual([res.status, res.body], [200, { ok: true }]);
    assert.equal(await closed, "io server disconnect");
    await withTimeout(gone, 10_000, "mallory's presence connection closed");
    await bob.until(() => bob.removed.includes("mallory"), "mallory removed");
    assert.equal(bob.client.state, "connected", "other users stay");
    assert.equal((await postJson(a, "/v1/users/x/disconnect", {}, null)).status, 401);
  });

  test(`${mode}: a presence channel holds at most limits.maxPresenceMembers members`, async (t) => {
    const [a] = await setup(t);
    const room = fresh("presence-small");
    const socket = await connectSocket(t, a, { transports: ["websocket"] });
    const token = await channelToken({ channel: room });
    const ack = await subscribe(socket, room, { token });
    assert.deepEqual(ack.ok ? "ok" : ack.error.code, "presence_user_required", "a presence token names its user");
    await joinPresence(t, a, room, "u1");
    await joinPresence(t, a, room, "u2");
    await joinPresence(t, a, room, "u3");
    const refused = await subscribe(socket, room, { token: await channelToken({ channel: room, user: { id: "u4" } }) });
    assert.equal(refused.ok ? "ok" : refused.error.code, "presence_full");
    const again = await subscribe(socket, room, { token: await channelToken({ channel: room, user: { id: "u1" } }) });
    assert.equal(again.ok, true, "a member already in may connect again");
  });
}

/** Environment every suite host runs with: a small member limit for the limit test. */
export const SUITE_ENV = { PUSHER_MAX_PRESENCE_MEMBERS: "3", PUSHER_CHANNEL_STATE_COUNT_SYNC_MS: "200" };
