import type { SharedState } from './redis';

/** References taken from the cluster's counter at a time (a quarter of the 8-bit ones). */
const BLOCK = 64;

/**
 * Concatenation references from one counter for every copy of the account: each copy takes a
 * block of them from Redis and hands them out one by one, asking for the next block when half of
 * this one is used. A copy that uses a block up before the next arrives starts it over (as its own
 * counter would wrap); without any block (Redis down) the copy's own counter goes on.
 */
export function sharedReferences(shared: SharedState, own: () => number): () => number {
  let start = 0;
  let next = 0;
  let end = 0;
  let asking = false;
  const refill = () => {
    if (asking || !shared.available) return;
    asking = true;
    shared.client
      .incrby(shared.key('reference'), BLOCK)
      .then((last) => {
        start = next = last - BLOCK + 1;
        end = last + 1;
      })
      .catch((error: unknown) => shared.failed(error))
      .finally(() => (asking = false));
  };
  void shared.connected.then(refill);
  return () => {
    if (end - next <= BLOCK / 2) refill();
    if (end === 0) return own();
    if (next >= end) next = start;
    return next++ & 0xffff;
  };
}
