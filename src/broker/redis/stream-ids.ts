/** Redis stream IDs ("<ms>-<seq>"): ordered by time, then sequence. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = split(a);
  const [bMs, bSeq] = split(b);
  return aMs - bMs || aSeq - bSeq;
}

function split(id: string): [number, number] {
  const dash = id.indexOf("-");
  return dash < 0 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}
