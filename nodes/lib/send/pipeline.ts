import type { SendResult } from '../http/infobip';
import { backoffDelay } from './backoff';
import { SendFailure, SmsError } from '../errors';
import { Job, JobHandle, JobHooks, JobListener, type SideWork } from './job';
import { monotonicNow, nextStartAfter, startInterval } from '../limits';
import type { RequestBudget } from '../shared/budget';
import { AdaptivePace } from './pace';
import { type SendRequest, requestSize, scheduleOf } from './request';

export interface PipelineOptions {
  /** Requests in flight at most. */
  concurrency: number;
  /** Request starts per second at most; 0 for no limit. */
  ratePerSecond: number;
  /** Jobs waiting for a free slot at most; 0 for no limit. */
  queueLimit: number;
  /** Extra attempts after a network failure that provably sent nothing. */
  retries: number;
  /** How long one message may be held back by the account's 429/503 answers before it fails. */
  throttleWaitMs: number;
  /** First backoff delay without Retry-After; doubles per retry, with jitter. */
  backoffMs?: number;
  /** Waiting messages one request may carry (v3); 1 = one request per message. */
  batchSize?: number;
  /** A request's body stays below this many bytes (estimated). */
  maxBatchBytes?: number;
  /** Monotonic milliseconds. */
  now?: () => number;
  /** Told when a job's listener threw; the other jobs of its request end as they would have. */
  listenerFailed?: (error: unknown) => void;
  /** Told of each request started and each 429/503 answer (the account's counters). */
  observer?: { requestStarted(): void; throttled(status: number): void; retried?(count: number): void };
  /** The budget the account shares with its other copies: asked before each request starts. */
  budget?: RequestBudget;
}

/** What the pipeline holds now, for the editor's sidebar. */
export interface PipelineGauges {
  waiting: number;
  inFlight: number;
  /** Milliseconds until the account's pause after a 429/503 ends (0: not paused), and its status. */
  pausedForMs: number;
  pauseStatus: number;
  closed: boolean;
}

/** Sends the requests in one HTTP request; resolves with one result per request, in their order. */
export type SendAttempt = (requests: SendRequest[], controller: AbortController) => Promise<SendResult[]>;

/** What a job that carries no message holds as its request (it is never sent). */
const NO_MESSAGE: SendRequest = { to: [], binary: { hex: '', dataCoding: 0, esmClass: 0 } };

/** The largest body a batch may have: 1 MB. */
export const MAX_BATCH_BYTES = 1024 * 1024;

/**
 * The request pipeline of one account: a FIFO queue in front of a concurrency limit and an
 * optional rate limit, with retries only for failures that sent nothing. A 429 that says the
 * account's limit is near pauses the whole account until Retry-After (or a backoff) has passed
 * and slows it to a learnt pace; a sporadic 429 or a 503 costs only its own message's wait.
 * Messages wait instead of failing, each at most `throttleWaitMs` from when it was first held back.
 * (Written out rather than taken from a queue library because each waiting job must end in its
 * own error on close, and retries must re-enter at the front.)
 */
export class Pipeline {
  private readonly queue: (Job | undefined)[] = [];
  private queueHead = 0;
  /** Jobs in the state 'queued'; changed only by setState and settle. */
  private queued = 0;
  private inFlight = 0;
  private nextStartAt = 0;
  private pausedUntil = 0;
  /** The HTTP status of the last pause, for the error of a message it held too long. */
  private pauseStatus = 429;
  private readonly pace = new AdaptivePace();
  private readonly now: () => number;
  private rateTimer?: NodeJS.Timeout;
  /** Whether the shared budget is being asked for the next start. */
  private asking = false;
  private closed = false;
  private readonly active = new Set<Job>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: PipelineOptions,
    private readonly attempt: SendAttempt,
  ) {
    this.now = options.now ?? monotonicNow;
  }

  /** Requests per second the learnt pace allows (Infinity while none was learnt). */
  get pacePerSecond(): number {
    return this.pace.ratePerSecond;
  }

  get gauges(): PipelineGauges {
    return {
      waiting: this.queued,
      inFlight: this.inFlight,
      pausedForMs: Math.max(0, this.pausedUntil - this.now()),
      pauseStatus: this.pauseStatus,
      closed: this.closed,
    };
  }

  submit(request: SendRequest, hooks: JobHooks, listener: JobListener): JobHandle {
    return this.admit(new Job(request, hooks, listener));
  }

  /**
   * Runs `work` (a request that carries no message, such as a lookup in Infobip's logs) under the
   * account's rules, behind the messages already waiting; it is tried again as a send would be
   * (429/503, a failure that provably sent nothing). Resolves with what it returned.
   */
  perform<T>(work: (controller: AbortController) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let result: T;
      const side: SideWork = async (controller) => {
        result = await work(controller);
      };
      this.admit(new Job(NO_MESSAGE, {}, (error) => (error ? reject(error) : resolve(result)), side));
    });
  }

  private admit(job: Job): Job {
    if (this.closed) {
      this.settle(job, new SmsError('closed'));
    } else if (!job.work && this.options.queueLimit > 0 && this.queued >= this.options.queueLimit) {
      this.settle(job, new SmsError('queueFull', { limit: this.options.queueLimit }));
    } else {
      this.active.add(job);
      const now = this.now();
      if (this.pausedUntil > now) this.holdBack(job, now);
      if (!this.heldTooLong(job, this.pausedUntil)) {
        this.enqueue(job);
        this.pump();
      }
    }
    return job;
  }

  /** Ends a job that has not started with a "closed" error; an in-flight one may finish but is not retried. */
  cancel(handle: JobHandle): void {
    const job = handle as Job;
    job.cancelled = true;
    if (job.state === 'queued' || job.state === 'backingOff') {
      this.settle(job, new SmsError('closed'));
    }
  }

  /**
   * Cancels the jobs and waits up to `graceMs` for those in flight; then a request carrying only
   * cancelled jobs is aborted, and a cancelled job in a request that others still need ends
   * "delivery unknown" while the request goes on.
   */
  async closeJobs(handles: Iterable<JobHandle>, graceMs: number): Promise<void> {
    const list = [...handles] as Job[];
    list.forEach((job) => this.cancel(job));
    const inFlight = list.filter((job) => job.state === 'inFlight').map((job) => job.ended());
    if (inFlight.length === 0) return;
    let grace: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => (grace = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(inFlight), expired]);
    clearTimeout(grace);
    const now = this.now();
    for (const job of list) {
      if (job.state !== 'inFlight') continue;
      // A request that also carries messages of nodes still running goes on for them: only
      // this node stops waiting for its own.
      if (job.batch.every((member) => member.cancelled)) job.controller?.abort();
      else this.settle(job, new SmsError('abortedInFlight', { seconds: ((now - job.startedAt) / 1000).toFixed(1) }));
    }
    await Promise.all(inFlight);
  }

  /** Refuses new jobs and closes every job still active. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    clearTimeout(this.rateTimer);
    this.retryTimers.forEach((timer) => clearTimeout(timer));
    this.retryTimers.clear();
    await this.closeJobs(this.active, graceMs);
  }

  private enqueue(job: Job, atFront = false): void {
    this.setState(job, 'queued');
    if (atFront && this.queueHead > 0) this.queue[--this.queueHead] = job;
    else if (atFront) this.queue.unshift(job);
    else this.queue.push(job);
  }

  /** The next waiting job, left in the queue. */
  private peek(): Job | undefined {
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const job = this.queue[i];
      if (job?.state === 'queued') return job;
    }
    return undefined;
  }

  private dequeue(): Job | undefined {
    while (this.queueHead < this.queue.length) {
      const job = this.queue[this.queueHead];
      this.queue[this.queueHead++] = undefined;
      if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      // It stays counted as queued until it starts or ends.
      if (job?.state === 'queued') return job;
    }
    return undefined;
  }

  private pump(): void {
    const userInterval = startInterval(this.options.ratePerSecond);
    while (this.inFlight < this.options.concurrency && this.queued > 0) {
      const now = this.now();
      const interval = Math.max(userInterval, this.pace.interval());
      const startAt = Math.max(this.pausedUntil, interval > 0 ? this.nextStartAt : 0);
      if (now < startAt) {
        this.wakeAt(startAt);
        return;
      }
      if (this.options.budget && this.options.budget.active !== false) {
        this.askBudget(this.options.budget, interval);
        return;
      }
      const batch = this.takeBatch(now);
      if (batch.length === 0) continue;
      this.nextStartAt = nextStartAfter(this.nextStartAt, now, interval);
      void this.run(batch);
    }
  }

  /** Asks the shared budget for one start (one question at a time); starts a request when it allows one. */
  private askBudget(budget: RequestBudget, interval: number): void {
    if (this.asking) return;
    this.asking = true;
    void budget.take().then((answer) => {
      this.asking = false;
      if ('waitMs' in answer) {
        if (answer.pausedStatus) this.pause(this.now() + answer.waitMs, answer.pausedStatus, false);
        this.wakeAt(this.now() + answer.waitMs);
        return;
      }
      const now = this.now();
      const batch = this.closed || this.inFlight >= this.options.concurrency ? [] : this.takeBatch(now);
      if (batch.length === 0) {
        answer.release();
      } else {
        this.nextStartAt = nextStartAfter(this.nextStartAt, now, interval);
        void this.run(batch, () => answer.release());
      }
      this.pump();
    });
  }

  /** Runs the pump again at `at` (monotonic ms), unless a wake-up is already set. */
  private wakeAt(at: number): void {
    if (this.rateTimer || this.closed) return;
    this.rateTimer = setTimeout(
      () => {
        this.rateTimer = undefined;
        this.pump();
      },
      Math.max(0, at - this.now()),
    );
  }

  /**
   * The next request's messages: the first waiting one and, while it fits (Messages per request,
   * the body cap, the same schedule), those behind it, in order. A message held back by a pause
   * for longer than allowed fails here, unsent.
   */
  private takeBatch(now: number): Job[] {
    const first = this.dequeue();
    if (!first || (first.heldByPause && this.heldTooLong(first, now)) || this.tooLate(first)) return [];
    const batch = [first];
    const size = this.options.batchSize ?? 1;
    if (size <= 1 || first.alone) return batch;
    const limit = this.options.maxBatchBytes ?? MAX_BATCH_BYTES;
    let bytes = requestSize(first.request);
    for (let next = this.peek(); next && batch.length < size; next = this.peek()) {
      const nextBytes = requestSize(next.request);
      if (next.alone || scheduleOf(next.request) !== scheduleOf(first.request) || bytes + nextBytes > limit) break;
      this.dequeue();
      if ((next.heldByPause && this.heldTooLong(next, now)) || this.tooLate(next)) continue;
      batch.push(next);
      bytes += nextBytes;
    }
    return batch;
  }

  private async run(batch: Job[], release?: () => void): Promise<void> {
    const startedAt = this.now();
    const controller = new AbortController();
    const sentAt = Date.now();
    for (const job of batch) {
      if (job.attempts === 0) job.hooks.beforeSend?.(job.request);
      // Each attempt may be the one Infobip accepted (the earlier ones provably sent nothing).
      if (!job.work) job.request.sentAt = sentAt;
      this.setState(job, 'inFlight');
      job.attempts++;
      job.startedAt = startedAt;
      job.controller = controller;
      job.batch = batch;
    }
    this.inFlight++;
    this.pace.started(startedAt);
    this.options.observer?.requestStarted();
    try {
      const side = batch[0].work;
      const results = side
        ? await side(controller).then(() => [])
        : await this.attempt(
            batch.map((job) => job.request),
            controller,
          );
      this.pace.accepted(this.now());
      batch.forEach((job, index) => this.settle(job, undefined, results[index]));
    } catch (error) {
      this.afterFailure(batch, error as Error);
    } finally {
      for (const job of batch) {
        job.controller = undefined;
        job.batch = [];
      }
      this.inFlight--;
      release?.();
      this.pump();
    }
  }

  private afterFailure(batch: Job[], error: Error): void {
    const failure = error instanceof SendFailure ? error : undefined;
    const kind = failure?.kind ?? 'final';
    // Jobs of a node that closed, or of a closed account, are not sent again.
    const stopped = batch.filter((job) => job.cancelled || this.closed);
    const refusal = batch.length > 1 && failure?.statusCode === 400 ? failure.refused : undefined;
    stopped.forEach((job) => {
      // A 400 sent nothing: a message it did not name ends "closed", not with another's violation.
      if (refusal) this.settle(job, refusal.get(batch.indexOf(job)) ?? new SmsError('closed'));
      else this.settle(job, kind === 'final' ? error : new SmsError('closed'));
    });
    const live = batch.filter((job) => !job.cancelled && !this.closed);
    if (live.length === 0) return;
    if (batch.length > 1 && failure?.statusCode === 400) {
      // A 400 sent nothing: the messages Infobip named fail, the others go again at once; when it
      // named none, each goes again alone, so that only the one Infobip refuses fails.
      const refused = failure.refused;
      const named = batch.filter((job, index) => refused?.has(index) && !job.settled);
      if (named.length > 0) {
        batch.forEach((job, index) => {
          const own = refused?.get(index);
          if (own && !job.settled) this.settle(job, own);
        });
      } else {
        // Named none of this request's messages (or none at all): no guess, each goes alone.
        live.forEach((job) => (job.alone = true));
      }
      this.requeue(live.filter((job) => !job.settled));
    } else if (kind === 'final') {
      live.forEach((job) => this.settle(job, error));
    } else if (kind === 'throttled') {
      this.afterThrottle(live, failure!);
    } else {
      for (const job of live) if (++job.networkFailures > this.options.retries) this.settle(job, error);
      const retry = live.filter((job) => !job.settled);
      if (retry.length > 0) this.retryLater(retry, backoffDelay(retry[0].networkFailures, this.options.backoffMs));
    }
  }

  /** Puts jobs back at the front of the queue, in their order, and starts what can start. */
  private requeue(jobs: Job[]): void {
    for (let i = jobs.length - 1; i >= 0; i--) this.enqueue(jobs[i], true);
    this.pump();
  }

  /**
   * Infobip answered 429 or 503: nothing was sent. A 429 that says the limit is near, or a
   * Retry-After longer than any message may wait, pauses the whole account (every queued
   * message would meet the same answer); otherwise only this message waits.
   */
  private afterThrottle(batch: Job[], failure: SendFailure): void {
    const now = this.now();
    const status = failure.statusCode ?? 429;
    this.options.observer?.throttled(status);
    const throttles = Math.max(...batch.map((job) => ++job.throttles));
    const delayMs = failure.retryAfterMs ?? backoffDelay(throttles, this.options.backoffMs);
    const waitLimit = this.options.throttleWaitMs;
    // A lookup or a bulk's control answered 429/503 (another endpoint, maybe other limits): only it waits.
    const limitNear = !batch[0].work && status === 429 && this.pace.throttled(batch[0].startedAt, now);
    if (limitNear || (!batch[0].work && (failure.retryAfterMs ?? 0) > waitLimit))
      this.pause(now + delayMs, status, limitNear);
    if (delayMs > waitLimit) {
      const seconds = Math.ceil(delayMs / 1000);
      batch.forEach((job) => this.settle(job, new SmsError('retryAfterTooLong', { seconds }, status)));
      return;
    }
    for (const job of batch) {
      job.heldSince ??= now;
      job.heldStatus = status;
      job.heldByPause = false;
      this.heldTooLong(job, now + delayMs);
    }
    const waiting = batch.filter((job) => !job.settled);
    if (waiting.length === 0) return;
    if (this.pausedUntil > now) {
      waiting.forEach((job) => job.hooks.onRetryWait?.(this.pausedUntil - now));
      this.options.observer?.retried?.(waiting.filter((job) => !job.work).length);
      this.requeue(waiting);
    } else {
      this.retryLater(waiting, delayMs);
    }
  }

  /**
   * Holds the account back until `until`; queued messages that cannot wait that long fail now.
   * `share`: a pause that says the limit is near holds the account's other copies back too.
   */
  private pause(until: number, status: number, share: boolean): void {
    const now = this.now();
    if (share) this.options.budget?.pause(Date.now() + (until - now), status);
    this.pausedUntil = Math.max(this.pausedUntil, until);
    this.pauseStatus = status;
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const job = this.queue[i];
      if (job?.state !== 'queued') continue;
      this.holdBack(job, now);
      this.heldTooLong(job, this.pausedUntil);
    }
  }

  /** Marks a queued job as held back by the account's pause, from now unless it was already. */
  private holdBack(job: Job, now: number): void {
    job.heldSince ??= now;
    job.heldStatus ??= this.pauseStatus;
    job.heldByPause = true;
  }

  /** Fails a job that will have been held back longer than allowed at `startAt`; returns whether it did. */
  private heldTooLong(job: Job, startAt: number): boolean {
    if (job.heldSince === undefined || startAt - job.heldSince <= this.options.throttleWaitMs) return false;
    const status = job.heldStatus ?? this.pauseStatus;
    const seconds = Math.round(this.options.throttleWaitMs / 1000);
    this.settle(job, new SmsError('throttledTooLong', { status, seconds }, status));
    return true;
  }

  /** Ends a resend that could not start by its time (Infobip would no longer know it as a repeat); returns whether it did. */
  private tooLate(job: Job): boolean {
    const { startBy } = job.request;
    if (startBy === undefined || Date.now() <= startBy) return false;
    this.settle(job, new SmsError('resendTooLate'));
    return true;
  }

  /** Sends the jobs again after `delayMs`, at the front of the queue, unless they ended meanwhile (closed). */
  private retryLater(jobs: Job[], delayMs: number): void {
    this.options.observer?.retried?.(jobs.filter((job) => !job.work).length);
    for (const job of jobs) {
      this.setState(job, 'backingOff');
      job.hooks.onRetryWait?.(delayMs);
    }
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.requeue(jobs.filter((job) => job.state === 'backingOff'));
    }, delayMs);
    this.retryTimers.add(timer);
  }

  /** Moves a job on; the count of queued jobs follows. */
  private setState(job: Job, state: 'queued' | 'backingOff' | 'inFlight'): void {
    if (job.state === 'queued') this.queued--;
    if (state === 'queued') this.queued++;
    job.state = state;
  }

  /** Ends one job with an error of its own (one request's failure is shared by its jobs). */
  private settle(job: Job, error?: Error, response?: SendResult): void {
    if (job.state === 'settled') return;
    if (job.state === 'queued') this.queued--;
    this.active.delete(job);
    const own = error instanceof SmsError ? error.forAttempts(job.attempts) : error;
    try {
      job.end(own, response);
    } catch (thrown) {
      this.options.listenerFailed?.(thrown);
    }
  }
}
