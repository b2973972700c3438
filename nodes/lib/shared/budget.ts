import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { RATE_MARGIN } from '../limits';
import { SharedPermit } from './locks';
import type { SharedState } from './redis';

/** A request may start (release when it ends), or the budget asks to wait (a shared pause names its status). */
export type BudgetAnswer = { release(): void } | { waitMs: number; pausedStatus?: number };

/** Rate limit, Parallel and pauses held for several copies of an account. */
export interface RequestBudget {
  /** False while the budget has nothing to hold back (the pipeline then starts without asking). */
  readonly active?: boolean;
  take(): Promise<BudgetAnswer>;
  /** The account paused until `untilEpochMs` after a 429 that says the limit is near. */
  pause(untilEpochMs: number, status: number): void;
}

/** A copy that found every permit taken asks again after this long. */
const PERMIT_RETRY_MS = 15;
/** The shared rate limit is counted in tenths of a wall-clock second. */
export const WINDOW_MS = 100;

/**
 * How many request starts window `index` (counted in tenths of a second since the epoch) allows
 * the cluster: the limit spread over the ten windows of each second so that every wall-clock
 * second holds exactly the limit (a fractional one over several seconds). Short windows keep a
 * burst from spending a whole second's budget at once, which one-second windows allow twice
 * over at their edge.
 */
export function windowPoints(ratePerSecond: number, index: number): number {
  const share = ratePerSecond / (1000 / WINDOW_MS);
  return Math.floor((index + 1) * share + 1e-9) - Math.floor(index * share + 1e-9);
}

export interface SharedBudgetOptions {
  /** Request starts per second for the cluster; 0 for no limit. */
  ratePerSecond: number;
  /** Requests in flight for the cluster. */
  concurrency: number;
  /** A request's permit outlives it by its timeout (a copy that died frees its permits then). */
  requestTimeoutMs: number;
}

/**
 * The account's request budget for every copy sharing its Redis: the Rate limit (less
 * RATE_MARGIN) counted by rate-limiter-flexible's Redis limiter in short wall-clock windows, each
 * window's starts spread over it, Parallel held by a Redis
 * semaphore (redis-semaphore), and a pause after a 429 that says the limit is near, kept in
 * Redis until it ends so that every copy holds back. While Redis is down every request may
 * start: the copy's own limits hold then.
 */
export class SharedBudget implements RequestBudget {
  /** rate-limiter-flexible's Redis limiter, one per number of points a window allows. */
  private readonly limiters = new Map<number, RateLimiterRedis>();
  private readonly pauseKey: string;

  constructor(
    private readonly shared: SharedState,
    private readonly options: SharedBudgetOptions,
  ) {
    this.pauseKey = shared.key('paused');
  }

  async take(): Promise<BudgetAnswer> {
    await this.shared.connected;
    if (!this.shared.available) return { release: () => undefined };
    try {
      const paused = await this.pausedFor();
      if (paused) return paused;
      const permit = await this.permit();
      if (!permit) return { waitMs: PERMIT_RETRY_MS };
      const { waitMs, startInMs } = await this.window();
      if (waitMs > 0) {
        // Not held while waiting: an idle copy must never keep one of the cluster's permits.
        void permit.release().catch((error: unknown) => this.shared.failed(error));
        return { waitMs };
      }
      if (startInMs > 0) await new Promise((resolve) => setTimeout(resolve, startInMs));
      return { release: () => void permit.release().catch((error: unknown) => this.shared.failed(error)) };
    } catch (error) {
      this.shared.failed(error);
      return { release: () => undefined };
    }
  }

  pause(untilEpochMs: number, status: number): void {
    const ms = Math.ceil(untilEpochMs - Date.now());
    if (ms <= 0 || !this.shared.available) return;
    this.shared.client
      .set(this.pauseKey, String(status), 'PX', ms)
      .catch((error: unknown) => this.shared.failed(error));
  }

  private async pausedFor(): Promise<BudgetAnswer | undefined> {
    const [[, status], [, ms]] = ((await this.shared.client.multi().get(this.pauseKey).pttl(this.pauseKey).exec()) ??
      []) as [[unknown, string | null], [unknown, number]];
    if (status === null || !(ms > 0)) return undefined;
    return { waitMs: ms, pausedStatus: Number(status) || 429 };
  }

  private async permit(): Promise<SharedPermit | undefined> {
    const permit = new SharedPermit(this.shared, this.shared.key('parallel'), this.options.concurrency, {
      lockTimeout: this.options.requestTimeoutMs + 10_000,
      acquireAttemptsLimit: 1,
    });
    return (await permit.tryAcquire()) ? permit : undefined;
  }

  /**
   * Takes a start of the current window: `startInMs` says when its turn in the window comes, so
   * that a window's starts are spread over it rather than bunched at its beginning (where a
   * sliding second at Infobip would meet the previous window's last ones). Without a start left,
   * `waitMs` says how long until the next window.
   */
  private async window(): Promise<{ waitMs: number; startInMs: number }> {
    const rate = this.options.ratePerSecond * RATE_MARGIN;
    if (!(rate > 0)) return { waitMs: 0, startInMs: 0 };
    const now = Date.now();
    const index = Math.floor(now / WINDOW_MS);
    const points = windowPoints(rate, index);
    try {
      if (points > 0) {
        const { consumedPoints } = await this.limiter(points).consume(String(index));
        const turnAt = index * WINDOW_MS + ((consumedPoints - 1) * WINDOW_MS) / points;
        return { waitMs: 0, startInMs: Math.max(0, turnAt - Date.now()) };
      }
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
    }
    // Copies asking at the same moment spread over the first millisecond of the next window.
    return { waitMs: (index + 1) * WINDOW_MS - now + Math.random(), startInMs: 0 };
  }

  private limiter(points: number): RateLimiterRedis {
    let limiter = this.limiters.get(points);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: this.shared.client,
        keyPrefix: this.shared.key('rate', String(points)),
        points,
        // A window's count outlives the window by a second at most.
        duration: 1,
        rejectIfRedisNotReady: true,
      });
      this.limiters.set(points, limiter);
    }
    return limiter;
  }
}
