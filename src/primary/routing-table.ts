/**
 * Where the primary sends a new connection: to the worker that holds the Engine.IO session it
 * names, else to the ready worker that holds the fewest connections. Only workers that said ready
 * are candidates (a respawned worker is not, until it has announced itself) and a worker leaves
 * the table the moment its IPC channel goes, so nothing is ever routed to a dead one.
 *
 * Connection counts are what a worker really holds: +1 per handed socket, -n when the worker
 * reports sockets closed. Engine.IO sessions alone (what @socket.io/sticky counted) miss idle
 * keep-alive connections, publishers and half-sent requests, which then piled onto one worker.
 */
export class RoutingTable<W> {
  private readonly open = new Map<W, number>();
  private readonly sessions = new Map<string, W>();

  /** The worker has installed its handlers and may take connections. */
  markReady(worker: W): void {
    if (!this.open.has(worker)) this.open.set(worker, 0);
  }

  /** The worker is gone (or going): it takes nothing more, and its sessions are forgotten. */
  remove(worker: W): void {
    this.open.delete(worker);
    for (const [sid, owner] of this.sessions) if (owner === worker) this.sessions.delete(sid);
  }

  bind(sid: string, worker: W): void {
    if (this.open.has(worker)) this.sessions.set(sid, worker);
  }

  release(sid: string, worker: W): void {
    if (this.sessions.get(sid) === worker) this.sessions.delete(sid);
  }

  opened(worker: W): void {
    const count = this.open.get(worker);
    if (count !== undefined) this.open.set(worker, count + 1);
  }

  closed(worker: W, count: number): void {
    const held = this.open.get(worker);
    if (held !== undefined) this.open.set(worker, Math.max(0, held - count));
  }

  /** Connections the worker holds, as far as the primary knows (undefined: not a candidate). */
  held(worker: W): number | undefined {
    return this.open.get(worker);
  }

  /** The worker for a connection whose first request names `sid` (if any); undefined when none is ready. */
  pick(sid?: string): W | undefined {
    const owner = sid === undefined ? undefined : this.sessions.get(sid);
    if (owner !== undefined) return owner;
    let best: W | undefined;
    let fewest = Infinity;
    for (const [worker, count] of this.open) {
      if (count < fewest) {
        best = worker;
        fewest = count;
      }
    }
    return best;
  }
}
