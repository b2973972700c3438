/**
 * The account's daily limit: SMS parts in any 24 hours, counted per minute. A minute's parts count
 * until 24 hours after that minute has ended, so the window never holds fewer than the parts of
 * the last 24 hours (room frees at most a minute late, never early).
 */
export const MINUTE_MS = 60_000;
/** Minutes a minute's parts are counted after the minute it fell in (that minute included). */
export const WINDOW_MINUTES = 24 * 60 + 1;

/** What asking for room says: admitted, or refused with what is used and when enough room frees. */
export interface DailyAnswer {
  admitted: boolean;
  /** Parts counted in the window, this take included when admitted. */
  used: number;
  limit: number;
  /** Refused: when (epoch ms) enough has left the window for this take; undefined if it never fits. */
  freesAt?: number;
  /** Admitted: the minute it was counted in, to give it back if nothing was sent. */
  minute?: number;
  /** Admitted by the cluster's count in Redis (else by this copy's own). */
  shared?: boolean;
}

/** The daily limit as the account uses it: this copy's own count, or the cluster's through Redis. */
export interface DailyLimit {
  readonly limit: number;
  /** Counts `parts` if they fit in the window, all or nothing. */
  take(parts: number): Promise<DailyAnswer>;
  /** Gives back parts counted in `minute` that provably were not sent (`shared`: counted in Redis). */
  giveBack(minute: number, parts: number, shared?: boolean): void;
  /** Parts counted in the window now. */
  used(): number;
  close(): Promise<void>;
}

/** This copy's own count, which also records what the cluster admitted for it. */
export interface OwnDailyLimit extends DailyLimit {
  record(parts: number): Promise<void>;
}

export const minuteOf = (epochMs: number) => Math.floor(epochMs / MINUTE_MS);

/** The minutes of a window as saved: [minute, parts] pairs, oldest first. */
export type DailyCounts = [number, number][];

/**
 * This copy's count, in memory: one number per minute with parts in it. `saved` is told of each
 * change (the account keeps the counts across restarts).
 */
export class RollingDay {
  private readonly minutes = new Map<number, number>();

  constructor(
    readonly limit: number,
    counts: DailyCounts = [],
    private readonly now: () => number = Date.now,
  ) {
    for (const [minute, parts] of counts) if (parts > 0) this.minutes.set(minute, parts);
  }

  take(parts: number): DailyAnswer {
    const current = minuteOf(this.now());
    const used = this.count(current);
    if (used + parts > this.limit)
      return { admitted: false, used, limit: this.limit, freesAt: this.freesAt(used + parts - this.limit, parts) };
    this.minutes.set(current, (this.minutes.get(current) ?? 0) + parts);
    return { admitted: true, used: used + parts, limit: this.limit, minute: current };
  }

  /** Counts parts admitted elsewhere (the cluster, through Redis) in the current minute, whatever the limit. */
  record(parts: number): void {
    const current = minuteOf(this.now());
    this.minutes.set(current, (this.minutes.get(current) ?? 0) + parts);
  }

  giveBack(minute: number, parts: number): void {
    const left = (this.minutes.get(minute) ?? 0) - parts;
    if (left > 0) this.minutes.set(minute, left);
    else this.minutes.delete(minute);
  }

  used(): number {
    return this.count(minuteOf(this.now()));
  }

  /** The minutes still in the window, oldest first (what the account saves). */
  counts(): DailyCounts {
    this.count(minuteOf(this.now()));
    return [...this.minutes].sort(([a], [b]) => a - b);
  }

  /** Parts in the window ending at minute `current`; minutes that left it are forgotten. */
  private count(current: number): number {
    let used = 0;
    for (const [minute, parts] of this.minutes) {
      if (minute <= current - WINDOW_MINUTES) this.minutes.delete(minute);
      else used += parts;
    }
    return used;
  }

  /** When the oldest minutes holding `need` parts have left the window (undefined: `parts` alone exceed the limit). */
  private freesAt(need: number, parts: number): number | undefined {
    if (parts > this.limit) return undefined;
    let freed = 0;
    for (const [minute, counted] of this.counts()) {
      freed += counted;
      if (freed >= need) return (minute + WINDOW_MINUTES) * MINUTE_MS;
    }
    return undefined;
  }
}
