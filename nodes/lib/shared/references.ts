import type { SharedState } from './redis';

/** References taken from the cluster's counter at a time (a quarter of the 8-bit ones). */
const BLOCK = 64;

/**
 * Concatenation references from one counter for every copy of the account: each copy takes a
 * block of them from Redis and hands them out one by one, asking for the next block when half of
 * what it holds is used, so that the next is there before this one runs out.
 *
 * A copy never hands out a reference twice: its references only grow (counted without wrapping;
 * the SMS carries the low 8 or 16 bits). When no fresh block is there (Redis down, or slower than
 * a burst), the copy's own counter goes on from its last reference — from `own`'s random start
 * when no block came yet — and the next block it asks for takes everything it counted alone off
 * the counter, so neither it nor another copy hands those out again. A copy alone thus hands out
 * consecutive references: any 256 in a row differ in 8 bits, any 65,536 in 16.
 */
export function sharedReferences(shared: SharedState, own: () => number): () => number {
  /** The last reference handed out, unwrapped; undefined before the first. */
  let last: number | undefined;
  /** Blocks taken from the counter, in the order they came: [first, end). */
  const blocks: { first: number; end: number }[] = [];
  /** The counter's value as this copy last saw it. */
  let seen = 0;
  let asking = false;
  /** References still held from blocks, above the last one handed out. */
  const held = () =>
    blocks.reduce((sum, block) => sum + Math.max(0, block.end - Math.max(block.first, (last ?? -1) + 1)), 0);
  const refill = () => {
    if (asking || !shared.available || held() > BLOCK / 2) return;
    asking = true;
    // Enough for the block to start above what this copy counted alone (Redis grows the counter
    // from at least `seen`, unless it restarted empty: then the block is stale and asked again).
    const amount = Math.max(BLOCK, (last ?? 0) + BLOCK - seen);
    shared.client
      .incrby(shared.key('reference'), amount)
      .then((top) => {
        seen = top;
        blocks.push({ first: top - BLOCK + 1, end: top + 1 });
        asking = false;
        refill();
      })
      .catch((error: unknown) => {
        asking = false;
        shared.failed(error);
      });
  };
  void shared.connected.then(refill);
  return () => {
    while (blocks.length > 0 && last !== undefined && blocks[0].end - 1 <= last) blocks.shift();
    const block = blocks[0];
    const reference = block ? Math.max(block.first, (last ?? -1) + 1) : last === undefined ? own() : last + 1;
    last = reference;
    refill();
    return reference & 0xffff;
  };
}
