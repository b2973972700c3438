import { SendFailure, SendResult } from './client';
import { SmsError } from './errors';
import { SendRequest } from './request';

export interface PipelineOptions {
  /** Requests in flight at most. */
  concurrency: number;
  /** Request starts per second at most; 0 for no limit. */
  ratePerSecond: number;
  /** Jobs waiting for a free slot at most; 0 for no limit. */
  queueLimit: number;
  /** Extra attempts after a network failure that provably sent nothing. */
  retries: number;
  /** How long one message may wait out the account's 429/503 answers before it fails. */
  throttleWaitMs: number;
  /** First backoff delay without Retry-After; doubles per retry, with jitter. */
  backoffMs?: number;
}

export type SendAttempt = (request: SendRequest, controller: AbortController) => Promise<SendResult>;

export interface JobHooks {
  /** Called when a failed attempt will be retried after `delayMs`. */
  onRetryWait?(delayMs: number): void;
}

type JobState = 'queued' | 'backingOff' | 'inFlight' | 'settled';

export type JobListener = (error: Error | undefined, response?: SendResult) => void;

/**
 * One request on its way through the pipeline; it ends exactly once, with a response or an
 * error, and tells its listener. (A callback rather than a promise: a burst queues tens of
 * thousands of jobs, and a promise with its reactions costs several times a job's own size.)
 */
export class Job {
  state: JobState = 'queued';
  attempts = 0;
  networkFailures = 0;
  /** When the account first answered this job with 429/503. */
  throttledSince?: number;
  startedAt = 0;
  cancelled = false;
  timer?: NodeJS.Timeout;
  controller?: AbortController;
  private onEnd?: () => void;

  constructor(
    readonly request: SendRequest,
    readonly hooks: JobHooks,
    private readonly listener: JobListener,
  ) {}

  /** Ends the job once; later calls are ignored. */
  end(error: Error | undefined, response?: SendResult): void {
    if (this.state === 'settled') return;
    this.state = 'settled';
    this.listener(error, response);
    this.onEnd?.();
  }

  /** Resolves when the job has ended (made only when someone waits, e.g. on close). */
  ended(): Promise<void> {
    if (this.state === 'settled') return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.onEnd;
      this.onEnd = () => {
        previous?.();
        resolve();
      };
    });
  }
}

const MAX_BACKOFF_MS = 30_000;

/**
 * The account's pace, learnt from its 429 answers: the first sets it to nine tenths of what
 * Infobip accepted in the last second; each later one (for a request started after the last
 * slowdown) cuts it by 15 %; from 2 s after a slowdown, every second of accepted requests raises
 * it by 3 %. Probing gently matters: each 429 pauses the account for its Retry-After.
 * A minute without any 429 forgets the pace.
 */
export class AdaptivePace {
  private rate = Infinity;
  private lastSlowdownAt = -Infinity;
  private lastThrottleAt = -Infinity;
  private lastSpeedupAt = -Infinity;
  /** Accepted requests per 100 ms, for the last second. */
  private readonly buckets = new Array<number>(10).fill(0);
  private bucketAt = 0;

  /** Milliseconds between request starts; 0 while no limit was learnt. */
  interval(): number {
    return Number.isFinite(this.rate) ? 1000 / this.rate : 0;
  }

  accepted(now: number): void {
    this.count(now, 1);
    if (!Number.isFinite(this.rate)) return;
    if (now - this.lastThrottleAt > 60_000) {
      this.rate = Infinity;
    } else if (now - this.lastSpeedupAt >= 1000 && now - this.lastSlowdownAt >= 2000) {
      this.rate = this.rate * 1.03 + 1;
      this.lastSpeedupAt = now;
    }
  }

  throttled(startedAt: number, now: number): void {
    this.lastThrottleAt = now;
    if (startedAt < this.lastSlowdownAt) return;
    this.count(now, 0);
    const acceptedLastSecond = this.buckets.reduce((sum, count) => sum + count, 0);
    this.rate = Math.max(1, Number.isFinite(this.rate) ? this.rate * 0.85 : acceptedLastSecond * 0.9);
    this.lastSlowdownAt = now;
  }

  private count(now: number, accepted: number): void {
    const bucket = Math.floor(now / 100);
    const stale = Math.min(this.buckets.length, bucket - this.bucketAt);
    for (let i = 1; i <= stale; i++) this.buckets[(this.bucketAt + i) % this.buckets.length] = 0;
    this.bucketAt = Math.max(this.bucketAt, bucket);
    this.buckets[bucket % this.buckets.length] += accepted;
  }
}

/**
 * The request pipeline of one account: a FIFO queue in front of a concurrency
 * limit and an optional rate limit, with retries only for failures that sent nothing.
 * A 429 or 503 pauses the whole account until Retry-After (or a backoff) has passed and
 * slows it to a learnt pace, so messages wait instead of failing.
 * (Written out rather than taken from a queue library because each waiting job
 * must end in its own error on close, and retries must re-enter at the front.)
 */
export class Pipeline {
  private readonly queue: (Job | undefined)[] = [];
  private queueHead = 0;
  private queued = 0;
  private inFlight = 0;
  private nextStartAt = 0;
  private pausedUntil = 0;
  private consecutiveThrottles = 0;
  private readonly pace = new AdaptivePace();
  private rateTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly active = new Set<Job>();

  constructor(
    private readonly options: PipelineOptions,
    private readonly attempt: SendAttempt,
  ) {}

  submit(request: SendRequest, hooks: JobHooks, listener: JobListener): Job {
    const job = new Job(request, hooks, listener);
    if (this.closed) {
      this.settle(job, new SmsError('closed'));
    } else if (this.options.queueLimit > 0 && this.queued >= this.options.queueLimit) {
      this.settle(job, new SmsError('queueFull', { limit: this.options.queueLimit }));
    } else {
      this.active.add(job);
      this.enqueue(job);
      this.pump();
    }
    return job;
  }

  /** Ends a job that has not started with a "closed" error; an in-flight one may finish but is not retried. */
  cancel(job: Job): void {
    job.cancelled = true;
    if (job.state === 'queued' || job.state === 'backingOff') {
      if (job.state === 'queued') this.queued--;
      clearTimeout(job.timer);
      this.settle(job, new SmsError('closed'));
    }
  }

  /** Cancels the jobs, waits up to `graceMs` for those in flight, then aborts what is left. */
  async closeJobs(jobs: Iterable<Job>, graceMs: number): Promise<void> {
    const list = [...jobs];
    list.forEach((job) => this.cancel(job));
    const inFlight = list.filter((job) => job.state === 'inFlight').map((job) => job.ended());
    if (inFlight.length === 0) return;
    let grace: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => (grace = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(inFlight), expired]);
    clearTimeout(grace);
    list.forEach((job) => job.controller?.abort());
    await Promise.all(inFlight);
  }

  /** Refuses new jobs and closes every job still active. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    clearTimeout(this.rateTimer);
    await this.closeJobs(this.active, graceMs);
  }

  private enqueue(job: Job, atFront = false): void {
    job.state = 'queued';
    this.queued++;
    if (atFront && this.queueHead > 0) this.queue[--this.queueHead] = job;
    else if (atFront) this.queue.unshift(job);
    else this.queue.push(job);
  }

  private dequeue(): Job | undefined {
    while (this.queueHead < this.queue.length) {
      const job = this.queue[this.queueHead];
      this.queue[this.queueHead++] = undefined;
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      if (job?.state === 'queued') {
        this.queued--;
        return job;
      }
    }
    return undefined;
  }

  private pump(): void {
    const userInterval = this.options.ratePerSecond > 0 ? 1000 / this.options.ratePerSecond : 0;
    while (this.inFlight < this.options.concurrency && this.queued > 0) {
      const now = Date.now();
      const interval = Math.max(userInterval, this.pace.interval());
      const startAt = Math.max(this.pausedUntil, interval > 0 ? this.nextStartAt : 0);
      if (now < startAt) {
        if (!this.rateTimer) {
          this.rateTimer = setTimeout(() => {
            this.rateTimer = undefined;
            this.pump();
          }, startAt - now);
        }
        return;
      }
      const job = this.dequeue();
      if (!job) return;
      this.nextStartAt = Math.max(now, this.nextStartAt) + interval;
      void this.run(job);
    }
  }

  private async run(job: Job): Promise<void> {
    job.state = 'inFlight';
    job.attempts++;
    job.startedAt = Date.now();
    job.controller = new AbortController();
    this.inFlight++;
    try {
      const response = await this.attempt(job.request, job.controller);
      this.consecutiveThrottles = 0;
      this.pace.accepted(Date.now());
      this.settle(job, undefined, response);
    } catch (error) {
      this.afterFailure(job, error as Error);
    } finally {
      job.controller = undefined;
      this.inFlight--;
      this.pump();
    }
  }

  private afterFailure(job: Job, error: Error): void {
    const kind = error instanceof SendFailure ? error.kind : 'final';
    if (kind === 'final' || job.cancelled || this.closed) {
      this.settle(job, error);
    } else if (kind === 'throttled') {
      this.afterThrottle(job, error as SendFailure);
    } else if (++job.networkFailures > this.options.retries) {
      this.settle(job, error);
    } else {
      const delayMs = this.backoff(job.networkFailures);
      job.state = 'backingOff';
      job.hooks.onRetryWait?.(delayMs);
      job.timer = setTimeout(() => {
        this.enqueue(job, true);
        this.pump();
      }, delayMs);
    }
  }

  /** The account is over its limit: pause it, slow it down, and put the job back at the front. */
  private afterThrottle(job: Job, failure: SendFailure): void {
    const now = Date.now();
    const delayMs = failure.retryAfterMs ?? this.backoff(++this.consecutiveThrottles);
    const waitLimit = this.options.throttleWaitMs;
    if (delayMs > waitLimit) {
      const seconds = Math.ceil(delayMs / 1000);
      this.settle(job, new SmsError('retryAfterTooLong', { seconds }, failure.statusCode));
      return;
    }
    job.throttledSince ??= now;
    this.pausedUntil = Math.max(this.pausedUntil, now + delayMs);
    this.pace.throttled(job.startedAt, now);
    if (this.pausedUntil - job.throttledSince > waitLimit) {
      const seconds = Math.round((now - job.throttledSince) / 1000);
      this.settle(
        job,
        new SmsError('throttledTooLong', { status: failure.statusCode ?? 429, seconds }, failure.statusCode),
      );
      return;
    }
    job.hooks.onRetryWait?.(this.pausedUntil - now);
    this.enqueue(job, true);
  }

  /** Exponential backoff with "equal jitter": half fixed, half random. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(MAX_BACKOFF_MS, (this.options.backoffMs ?? 1000) * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private settle(job: Job, error?: Error, response?: SendResult): void {
    if (job.state === 'settled') return;
    this.active.delete(job);
    if (error instanceof SmsError && job.attempts > 1) error.params.attempts = job.attempts;
    job.end(error, response);
  }
}
