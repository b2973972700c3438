import { SendFailure, SendResult } from './client';
import { SmsError } from './errors';
import { SendRequest } from './request';

export interface PipelineOptions {
  /** Requests in flight at most. */
  concurrency: number;
  /** Request starts per second at most; 0 for no limit. */
  ratePerSecond: number;
  /** Jobs waiting for a free slot at most. */
  queueLimit: number;
  /** Extra attempts for failures that provably sent nothing. */
  retries: number;
  /** First backoff delay without Retry-After; doubles per retry, with jitter. */
  backoffMs?: number;
  /** A Retry-After longer than this fails the job instead of holding it. */
  maxRetryWaitMs?: number;
}

export type SendAttempt = (request: SendRequest, controller: AbortController) => Promise<SendResult>;

export interface JobHooks {
  /** Called when a failed attempt will be retried after `delayMs`. */
  onRetryWait?(delayMs: number): void;
}

type JobState = 'queued' | 'backingOff' | 'inFlight' | 'settled';

/** One request on its way through the pipeline; `result` settles exactly once. */
export class Job {
  state: JobState = 'queued';
  attempts = 0;
  cancelled = false;
  timer?: NodeJS.Timeout;
  controller?: AbortController;
  readonly result: Promise<SendResult>;
  resolve!: (response: SendResult) => void;
  reject!: (error: Error) => void;

  constructor(
    readonly request: SendRequest,
    readonly hooks: JobHooks,
  ) {
    this.result = new Promise<SendResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

const MAX_BACKOFF_MS = 30_000;

/**
 * The request pipeline of one account: a FIFO queue in front of a concurrency
 * limit and an optional rate limit, with retries only for failures that sent nothing.
 * (Written out rather than taken from a queue library because each waiting job
 * must end in its own error on close, and retries must re-enter at the front.)
 */
export class Pipeline {
  private readonly queue: (Job | undefined)[] = [];
  private queueHead = 0;
  private queued = 0;
  private inFlight = 0;
  private nextStartAt = 0;
  private rateTimer?: NodeJS.Timeout;
  private closed = false;
  private readonly active = new Set<Job>();

  constructor(
    private readonly options: PipelineOptions,
    private readonly attempt: SendAttempt,
  ) {}

  submit(request: SendRequest, hooks: JobHooks = {}): Job {
    const job = new Job(request, hooks);
    if (this.closed) {
      this.settle(job, new SmsError('closed'));
    } else if (this.queued >= this.options.queueLimit) {
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
    const inFlight = list.filter((job) => job.state === 'inFlight').map((job) => job.result.catch(() => undefined));
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
    const interval = this.options.ratePerSecond > 0 ? 1000 / this.options.ratePerSecond : 0;
    while (this.inFlight < this.options.concurrency && this.queued > 0) {
      const now = Date.now();
      if (interval > 0 && now < this.nextStartAt) {
        if (!this.rateTimer) {
          this.rateTimer = setTimeout(() => {
            this.rateTimer = undefined;
            this.pump();
          }, this.nextStartAt - now);
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
    job.controller = new AbortController();
    this.inFlight++;
    try {
      this.settle(job, undefined, await this.attempt(job.request, job.controller));
    } catch (error) {
      this.afterFailure(job, error as Error);
    } finally {
      job.controller = undefined;
      this.inFlight--;
      this.pump();
    }
  }

  private afterFailure(job: Job, error: Error): void {
    const retryable = error instanceof SendFailure && error.retryable;
    if (!retryable || job.cancelled || this.closed || job.attempts > this.options.retries) {
      this.settle(job, error);
      return;
    }
    const delayMs = error.retryAfterMs ?? this.backoff(job.attempts);
    const maxWait = this.options.maxRetryWaitMs ?? 60_000;
    if (delayMs > maxWait) {
      this.settle(job, new SmsError('retryAfterTooLong', { seconds: Math.ceil(delayMs / 1000) }, error.statusCode));
      return;
    }
    job.state = 'backingOff';
    job.hooks.onRetryWait?.(delayMs);
    job.timer = setTimeout(() => {
      this.enqueue(job, true);
      this.pump();
    }, delayMs);
  }

  /** Exponential backoff with "equal jitter": half fixed, half random. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(MAX_BACKOFF_MS, (this.options.backoffMs ?? 1000) * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private settle(job: Job, error?: Error, response?: SendResult): void {
    if (job.state === 'settled') return;
    job.state = 'settled';
    this.active.delete(job);
    if (error) {
      if (error instanceof SmsError && job.attempts > 1) error.params.attempts = job.attempts;
      job.reject(error);
    } else {
      job.resolve(response as SendResult);
    }
  }
}
