/**
 * Entry of the script-tag bundle (dist/client/pusher-client.js): defines `PusherClient` on the
 * global object, so a page can `new PusherClient(url)` without a module loader.
 */
import { PusherClient } from "./pusher-client.js";

(globalThis as unknown as { PusherClient: typeof PusherClient }).PusherClient = PusherClient;
