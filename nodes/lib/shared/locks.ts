import RedisMutex from 'redis-semaphore/lib/RedisMutex';
import RedisSemaphore from 'redis-semaphore/lib/RedisSemaphore';
import type { LockOptions } from 'redis-semaphore/lib/types';
import type { SharedState } from './redis';

/*
 * redis-semaphore renews a held lock from a timer whose failures (Redis unreachable) it leaves as
 * unhandled rejections, which end a Node-RED process, and by default throws from that timer when
 * a lock was lost (a Redis that restarted empty). These subclasses catch the first: a renewal that
 * cannot reach Redis counts as kept (the copy goes on alone meanwhile, and the lock expires in
 * Redis by itself), the failure going to the shared state, which warns once per outage; and a lost
 * lock is only noted (isAcquired turns false): a lease is asked for again at the next poll, and a
 * request whose permit was lost goes on.
 */

const noted = () => undefined;

/** A renewal's answer; one that could not reach Redis counts as kept. */
async function kept(shared: SharedState, renewal: Promise<boolean>): Promise<boolean> {
  try {
    return await renewal;
  } catch (error) {
    shared.failed(error);
    return true;
  }
}

/** The lease of one copy (the poller). */
export class SharedMutex extends RedisMutex {
  constructor(
    private readonly shared: SharedState,
    key: string,
    options: LockOptions,
  ) {
    super(shared.client, key, { onLockLost: noted, ...options });
  }

  protected _refresh(): Promise<boolean> {
    return kept(this.shared, super._refresh());
  }
}

/** One of a limited number of permits (a request in flight, for Parallel). */
export class SharedPermit extends RedisSemaphore {
  constructor(
    private readonly shared: SharedState,
    key: string,
    limit: number,
    options: LockOptions,
  ) {
    super(shared.client, key, limit, { onLockLost: noted, ...options });
  }

  protected _refresh(): Promise<boolean> {
    return kept(this.shared, super._refresh());
  }
}
