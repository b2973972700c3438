/** The first 429 sets the pace to this share of what Infobip accepted in the last second. */
const FIRST_LIMIT_SHARE = 0.9;
/** A further 429 that says the limit is near cuts the pace by 15 %. */
const SLOWDOWN_FACTOR = 0.85;
/** Every second without a slowdown raises the pace by 3 % (plus one request per second). */
const RECOVERY_FACTOR = 1.03;
const RECOVERY_STEP = 1;
/** Recovery starts this long after a slowdown. */
const RECOVERY_DELAY_MS = 2000;
/** A minute without any 429 forgets the pace. */
const FORGET_AFTER_MS = 60_000;
/**
 * A 429 says the limit is near only while the last second brought at least this many 429s, and
 * they were at least this share (a quarter) of its answers: an account shared with other applications sees
 * a few 429s at any rate (another system spent the budget), and each of those costs only its own
 * message a wait. A real limit answers every request beyond it with 429, and so passes both.
 */
const LIMIT_THROTTLES = 3;
const LIMIT_SHARE = 0.25;
/** Accepted requests are counted per 100 ms, over the last second. */
const BUCKET_MS = 100;
const BUCKETS = 10;

/**
 * The account's pace, learnt from the 429 answers that say its limit is near. A 429 says so
 * when the last second brought several 429s, a quarter or more of its answers, and it is the first, or comes
 * while requests start at least as fast as when the last 429 that slowed the account came; any
 * other 429 is sporadic and changes nothing (a 503
 * never comes here: it is no rate signal). Times are monotonic milliseconds.
 */
export class AdaptivePace {
  private rate = Infinity;
  private lastSlowdownAt = -Infinity;
  private lastThrottleAt = -Infinity;
  private lastSpeedupAt = -Infinity;
  /**
   * The start rate (per second) at which the last slowdown came: the first sets it to the pace
   * it chose, each later one to the rate requests were starting at.
   */
  private rateAtSlowdown = 0;
  private readonly accepts = new SecondWindow();
  private readonly starts = new SecondWindow();
  private readonly throttles = new SecondWindow();

  /** Milliseconds between request starts; 0 while no limit was learnt. */
  interval(): number {
    return Number.isFinite(this.rate) ? 1000 / this.rate : 0;
  }

  /** Requests per second the pace allows; Infinity while no limit was learnt. */
  get ratePerSecond(): number {
    return this.rate;
  }

  started(now: number): void {
    this.starts.add(now, 1);
  }

  accepted(now: number): void {
    this.accepts.add(now, 1);
    if (!Number.isFinite(this.rate)) return;
    if (now - this.lastThrottleAt > FORGET_AFTER_MS) {
      this.rate = Infinity;
    } else if (now - this.lastSpeedupAt >= 1000 && now - this.lastSlowdownAt >= RECOVERY_DELAY_MS) {
      this.rate = this.rate * RECOVERY_FACTOR + RECOVERY_STEP;
      this.lastSpeedupAt = now;
    }
  }

  /**
   * A 429 for a request started at `startedAt`. Returns whether it said the limit is near
   * (the pace was set or cut); a sporadic one returns false.
   */
  throttled(startedAt: number, now: number): boolean {
    this.throttles.add(now, 1);
    const throttledLastSecond = this.throttles.total(now);
    const answeredLastSecond = throttledLastSecond + this.accepts.total(now);
    if (throttledLastSecond < LIMIT_THROTTLES || throttledLastSecond < LIMIT_SHARE * answeredLastSecond) return false;
    this.lastThrottleAt = now;
    // Requests started before the last slowdown were sent at the old pace: their 429s say nothing new.
    if (startedAt < this.lastSlowdownAt) return false;
    const startedLastSecond = this.starts.total(now);
    const first = !Number.isFinite(this.rate);
    if (!first && startedLastSecond < this.rateAtSlowdown) return false;
    this.rate = Math.max(1, first ? this.accepts.total(now) * FIRST_LIMIT_SHARE : this.rate * SLOWDOWN_FACTOR);
    // A burst before the first 429 starts far faster than any pace will: compare with the pace instead.
    this.rateAtSlowdown = first ? this.rate : startedLastSecond;
    this.lastSlowdownAt = now;
    return true;
  }
}

/** Counts events per 100 ms over the last second. */
class SecondWindow {
  private readonly buckets = new Array<number>(BUCKETS).fill(0);
  private bucketAt = 0;

  add(now: number, count: number): void {
    const bucket = Math.floor(now / BUCKET_MS);
    const stale = Math.min(BUCKETS, bucket - this.bucketAt);
    for (let i = 1; i <= stale; i++) this.buckets[(this.bucketAt + i) % BUCKETS] = 0;
    this.bucketAt = Math.max(this.bucketAt, bucket);
    this.buckets[bucket % BUCKETS] += count;
  }

  total(now: number): number {
    this.add(now, 0);
    return this.buckets.reduce((sum, count) => sum + count, 0);
  }
}
