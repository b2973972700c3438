import RedisMutex from 'redis-semaphore/lib/RedisMutex';
import RedisSemaphore from 'redis-semaphore/lib/RedisSemaphore';
import type { LockOptions } from 'redis-semaphore/lib/types';
import type { SharedState } from './redis';

/*
 * redis-semaphore renews a held lock from a timer whose failures (Redis unreachable) it leaves as
 * unhandled rejections, which end a Node-RED process. These subclasses catch them: a renewal that
 * cannot reach Redis counts as kept (the copy goes on alone meanwhile, and the lock expires in
 * Redis by itself), and the failure goes to the shared state, which warns once per outage.
 */

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
    super(shared.client, key, options);
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
    super(shared.client, key, limit, options);
  }

  protected _refresh(): Promise<boolean> {
    return kept(this.shared, super._refresh());
  }
}
