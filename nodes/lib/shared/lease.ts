import crypto from 'node:crypto';
import { SharedMutex } from './locks';
import type { SharedState } from './redis';

/** A lease not renewed for this long (its holder died) passes to another copy. */
export const LEASE_MS = 6000;
/** The holder renews its lease this often. */
const RENEW_MS = 2000;

/** Whether this copy polls (several copies sharing an account take turns through a lease). */
export interface PollTurn {
  mine(): Promise<boolean>;
  /** Hands the turn back (the node stops). */
  release(): Promise<void>;
}

/**
 * Which copy of the account polls one of Infobip's pull endpoints: the holder of a lease in
 * Redis (redis-semaphore's mutex, see locks.ts; renewed while the holder lives and handed back when it stops).
 * While Redis is down every copy polls: Infobip hands each item out once, so nothing is doubled.
 */
export class PollLease implements PollTurn {
  private mutex?: SharedMutex;

  constructor(
    private readonly shared: SharedState,
    private readonly endpoint: string,
  ) {}

  async mine(): Promise<boolean> {
    await this.shared.connected;
    if (!this.shared.available) return true;
    if (this.mutex?.isAcquired) return true;
    const mutex = new SharedMutex(this.shared, this.shared.key('poller', this.endpoint), {
      lockTimeout: LEASE_MS,
      refreshInterval: RENEW_MS,
      acquireAttemptsLimit: 1,
      // The holder's name first: the sidebar shows which copy polls.
      identifier: `${this.shared.name} ${crypto.randomUUID()}`,
    });
    try {
      if (!(await mutex.tryAcquire())) return false;
      this.mutex = mutex;
      void this.shared.refresh();
      return true;
    } catch (error) {
      this.shared.failed(error);
      return true;
    }
  }

  async release(): Promise<void> {
    const mutex = this.mutex;
    this.mutex = undefined;
    if (mutex?.isAcquired) await mutex.release().catch(() => undefined);
  }
}
