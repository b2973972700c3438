/**
 * What an account counts for the editor's Infobip sidebar: counts only, never a number, payload,
 * id or secret. An event costs an increment of two counters (since deploy, and in its 10-second
 * bucket); the last 10 minutes of buckets give the chart and the last 5 minutes.
 */
export const COUNTERS = [
  /** Destinations Infobip accepted (its answer listed them, not rejected). */
  'sent',
  /** SMS parts of the accepted destinations: every part of a split payload, Infobip's count otherwise. */
  'parts',
  'sentLong',
  /** Destinations Infobip refused on submission (status group REJECTED): not sent. */
  'rejected',
  'failed',
  'throttled429',
  'throttled503',
  'timeouts',
  'requests',
  'delivered',
  'undelivered',
  'overdue',
  'replies',
  /** Destinations whose answer was lost, found in Infobip's logs / answered when sent once more / still unknown at the end. */
  'resolvedLogs',
  'resolvedResend',
  'unresolved',
  /** Messages tried again: after a failure that sent nothing, or a 429/503 answer. */
  'retries',
] as const;
export type Counter = (typeof COUNTERS)[number];
export type Counts = Partial<Record<string, number>>;

export const BUCKET_MS = 10_000;
/** Ten minutes of buckets. */
export const BUCKETS = 60;

export interface Bucket {
  /** Epoch ms at which the bucket starts (a multiple of BUCKET_MS). */
  start: number;
  counts: Counts;
}

/** The account's state now, read when a picture is taken. */
export interface Gauges {
  state: 'sending' | 'idle' | 'paused' | 'notSetUp' | 'closed';
  api: string;
  /** Epoch ms until which Infobip's 429/503 holds the account back, and that status. */
  pausedUntil?: number;
  pauseStatus?: number;
  /** The first setting that keeps the account from sending (its label). */
  problem?: string;
  waiting: number;
  inFlight: number;
  parallel: number;
  rateLimit: number;
  /** Requests per second the learnt pace allows, when one was learnt. */
  pace?: number;
  tracked: number;
  trackedNumbers: number;
  trackLimit: number;
  /** With a daily limit: SMS parts counted in the last 24 hours, and the limit. */
  daily?: { used: number; limit: number };
  /** With Shared state: whether Redis answers, this copy's name, the copies sharing the account, and which polls. */
  shared?: {
    available: boolean;
    self: string;
    copies: string[];
    polling: { reports?: string; inbound?: string };
  };
}

/** One account's picture, as the admin endpoint and the comms messages carry it. */
export interface AccountPicture extends Gauges {
  id: string;
  name: string;
  /** Requests started in the last whole second. */
  requestsPerSecond: number;
  total: Counts;
  /** Each failure's error code (input, http, unknown, network, queueFull, closed…): since deploy. */
  failedBy: Counts;
  /** Reports emitted, by status group (DELIVERED, UNDELIVERABLE, …): since deploy. */
  reportsBy: Counts;
  /** Infobip's answers by HTTP status (0: no answer: a timeout or a lost connection), every endpoint: since deploy. */
  answersBy: Counts;
  /** Whether the account node has no name (the sidebar then shows a placeholder; the metrics its id). */
  unnamed?: boolean;
  buckets: Bucket[];
  /** When a message last failed or a destination was last rejected, and when one was last sent (epoch ms). */
  lastFailed?: number;
  lastSent?: number;
  /** When the picture was taken (epoch ms): the editor sums the last 5 minutes from here. */
  at: number;
}

/**
 * What the admin endpoint answers: the pictures, and a stamp that grows with every answer (the
 * runtime's clock in ms, or one more than the last): the editor keeps the answer with the highest.
 */
export interface AccountsAnswer {
  stamp: number;
  accounts: AccountPicture[];
}

/** What the account's nodes tell the counters. */
export interface StatsSink {
  add(counter: Counter, count?: number): void;
  failed(code: string, key?: string): void;
  requestStarted(): void;
  /** A report was emitted, of this status group. */
  reported(group: string): void;
  /** Infobip answered with this HTTP status (0: no answer). */
  answered(status: number): void;
}

/** Counters that count nothing: the sidebar and the metrics are off (settings.js). */
export const NO_STATS: StatsSink = {
  add: () => {},
  failed: () => {},
  requestStarted: () => {},
  reported: () => {},
  answered: () => {},
};

export class AccountStats implements StatsSink {
  private readonly total: Counts = {};
  private readonly failedBy: Counts = {};
  private readonly reportsBy: Counts = {};
  private readonly answersBy: Counts = {};
  private readonly buckets: Bucket[] = [];
  private second = 0;
  private thisSecond = 0;
  private lastSecond = 0;
  private lastFailed?: number;
  private lastSent?: number;

  constructor(
    /** Told of every change (the hub publishes at most once a second). */
    private readonly changed: () => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  add(counter: Counter, count = 1): void {
    if (count <= 0) return;
    this.total[counter] = (this.total[counter] ?? 0) + count;
    const counts = this.bucket().counts;
    counts[counter] = (counts[counter] ?? 0) + count;
    if (counter === 'sent') this.lastSent = this.now();
    if (counter === 'failed' || counter === 'rejected') this.lastFailed = this.now();
    this.changed();
  }

  /** A message ended in an error with this code (and its catalog key, for timeouts). */
  failed(code: string, key?: string): void {
    this.failedBy[code] = (this.failedBy[code] ?? 0) + 1;
    const counts = this.bucket().counts;
    counts[`failed.${code}`] = (counts[`failed.${code}`] ?? 0) + 1;
    if (key === 'timeout') this.add('timeouts');
    this.add('failed');
  }

  reported(group: string): void {
    this.reportsBy[group] = (this.reportsBy[group] ?? 0) + 1;
  }

  answered(status: number): void {
    this.answersBy[status] = (this.answersBy[status] ?? 0) + 1;
  }

  /** A request started: counted for requests per second. */
  requestStarted(): void {
    const second = Math.floor(this.now() / 1000);
    if (second !== this.second) {
      this.lastSecond = second === this.second + 1 ? this.thisSecond : 0;
      this.thisSecond = 0;
      this.second = second;
    }
    this.thisSecond++;
    this.add('requests');
  }

  picture(id: string, name: string, gauges: Gauges): AccountPicture {
    const at = this.now();
    const second = Math.floor(at / 1000);
    const requestsPerSecond =
      second === this.second ? this.lastSecond : second === this.second + 1 ? this.thisSecond : 0;
    const since = at - BUCKETS * BUCKET_MS;
    return {
      id,
      name,
      ...gauges,
      requestsPerSecond,
      total: { ...this.total },
      failedBy: { ...this.failedBy },
      reportsBy: { ...this.reportsBy },
      answersBy: { ...this.answersBy },
      buckets: this.buckets
        .filter((bucket) => bucket.start > since)
        .map((bucket) => ({ ...bucket, counts: { ...bucket.counts } })),
      ...(this.lastFailed !== undefined ? { lastFailed: this.lastFailed } : {}),
      ...(this.lastSent !== undefined ? { lastSent: this.lastSent } : {}),
      at,
    };
  }

  /** The bucket of now; older than ten minutes are dropped. */
  private bucket(): Bucket {
    const start = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
    const last = this.buckets[this.buckets.length - 1];
    if (last?.start === start) return last;
    const bucket = { start, counts: {} };
    this.buckets.push(bucket);
    while (this.buckets.length > 0 && this.buckets[0].start <= start - BUCKETS * BUCKET_MS) this.buckets.shift();
    return bucket;
  }
}

/** Sums the buckets of the `windowMs` before `at`. */
export function lastCounts(buckets: readonly Bucket[], at: number, windowMs: number): Counts {
  const sum: Counts = {};
  for (const bucket of buckets) {
    if (bucket.start + BUCKET_MS <= at - windowMs) continue;
    for (const [name, count] of Object.entries(bucket.counts)) sum[name] = (sum[name] ?? 0) + (count ?? 0);
  }
  return sum;
}
