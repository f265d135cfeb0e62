import type { Socket as NetSocket } from "node:net";
import type { ServerToClientEvents } from "../protocol/events.js";
import type { PusherServer } from "../protocol/socket-types.js";

/**
 * A direct write is taken only while the TCP socket holds less than this unsent; beyond it the
 * socket's frames go through engine.io, whose queue (and packet count) the slow-consumer cut-off
 * reads, and whose write callback paces a client that does not keep up.
 */
const DIRECT_WRITE_BACKLOG_BYTES = 16 * 1024;

/** What of engine.io's and ws's state a direct write must check: none of it is in their typings. */
interface EngineConn {
  readyState: string;
  writeBuffer: unknown[];
  transport: { name: string; socket?: WsSocket };
  write(data: string, options: { wsPreEncodedFrame: Buffer[] }): void;
}

interface WsSocket {
  readyState: number;
  _socket: NetSocket | null;
  _sender: { _queue: unknown[] };
}

const WS_OPEN = 1;

/** The unmasked final text frame of a websocket server (RFC 6455 §5.2) carrying `payload`. */
function textFrame(payload: Buffer): Buffer {
  const length = payload.byteLength;
  const headerBytes = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerBytes + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, headerBytes);
  return frame;
}

/**
 * Writes an event to every socket of a room with the work that is the same for each done once:
 * the Socket.IO packet is encoded and its websocket frame built once per event, and a websocket
 * that has nothing queued in engine.io or ws gets the frame written straight to its TCP socket:
 * no packet object, no callback, no events per socket. Inside `batch`, every socket written to is
 * corked until the batch ends, so all it has for one socket (and anything engine.io writes to it
 * meanwhile) leaves in one write, in order; a lone event is written at once, uncorked.
 *
 * Order against Socket.IO's own emits holds because a frame bypasses engine.io only when engine.io
 * holds nothing for that socket: what engine.io sent earlier is already in the TCP socket ahead of
 * the frame, and what it sends later is written behind it. Any other socket (long-polling,
 * mid-upgrade, queued packets, a client not keeping up) gets the same pre-encoded packet through
 * engine.io, behind what is queued there.
 */
export class RoomWriter {
  private readonly corked: NetSocket[] = [];
  private coalescing = false;

  constructor(private readonly io: PusherServer) {}

  /** Emits `event` to the room's sockets on this worker; returns how many it reached. */
  emit<E extends keyof ServerToClientEvents>(room: string, event: E, payload: Parameters<ServerToClientEvents[E]>[0]): number {
    const members = this.io.of("/").adapter.rooms.get(room);
    if (!members || members.size === 0) return 0;
    // Socket.IO's EVENT packet on the main namespace ("2"), in an Engine.IO message packet ("4").
    const packet = `2${JSON.stringify([event, payload])}`;
    const frame = textFrame(Buffer.from(`4${packet}`));
    const preEncoded = { wsPreEncodedFrame: [frame] };
    const sockets = this.io.of("/").sockets;
    let reached = 0;
    for (const id of members) {
      const conn = sockets.get(id)?.conn as unknown as EngineConn | undefined;
      if (!conn || conn.readyState !== "open") continue;
      reached++;
      const tcp = directSocket(conn);
      if (tcp) this.writeDirect(tcp, frame);
      else conn.write(packet, preEncoded);
    }
    return reached;
  }

  /** Runs `emits`; with `coalesce`, what they write to one socket leaves in one write when they end. */
  batch(coalesce: boolean, emits: () => void): void {
    this.coalescing = coalesce;
    try {
      emits();
    } finally {
      this.coalescing = false;
      for (const tcp of this.corked) tcp.uncork();
      this.corked.length = 0;
    }
  }

  private writeDirect(tcp: NetSocket, frame: Buffer): void {
    // Corking costs a queued chunk and a second pass per socket: only worth it for several frames.
    if (this.coalescing && tcp.writableCorked === 0) {
      tcp.cork();
      this.corked.push(tcp);
    }
    tcp.write(frame);
  }
}

/** The TCP socket of a websocket session with nothing queued before it, or undefined. */
function directSocket(conn: EngineConn): NetSocket | undefined {
  const ws = conn.transport.socket;
  if (conn.transport.name !== "websocket" || !ws || ws.readyState !== WS_OPEN || conn.writeBuffer.length > 0 || ws._sender._queue.length > 0) return undefined;
  const tcp = ws._socket;
  if (!tcp || !tcp.writable || tcp.writableLength >= DIRECT_WRITE_BACKLOG_BYTES) return undefined;
  return tcp;
}
