// channels/channel-feeds.ts still imports the socket.io types from here; it moves to
// protocol/socket-types.ts with the exactly-once branch (that file is not edited in this one).
export type { PusherServer, PusherSocket } from "../protocol/socket-types.js";
