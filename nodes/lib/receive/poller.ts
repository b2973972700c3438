import type { PollTurn } from '../shared/lease';
import { backoffDelay } from '../send/backoff';
import { SendFailure } from '../errors';
import { MAX_TIMER_MS } from '../limits';

/** What a poller tells its node about. */
export interface PollListener {
  /** A poll ended with every page fetched; the next comes after the interval. */
  idle(): void;
  /** A poll failed; the next try comes after `delayMs`. `first` for the first of a series. */
  retrying(delayMs: number, error: unknown, first: boolean): void;
  /** Infobip refused the credentials (401/403); `first` for the first of a series. */
  unauthorized(status: number, first: boolean): void;
  /** Another copy of the account polls; this one waits to take over. */
  standby?(): void;
}

/** A copy waiting for its turn asks again this often. */
export const STANDBY_CHECK_MS = 2000;

export interface PollerOptions<T> {
  intervalMs: number;
  /** A full page means more are waiting: the next is fetched at once. */
  pageSize: number;
  /** Fetches one page; aborting the controller gives up on it. */
  fetch(controller: AbortController): Promise<T[]>;
  /** Emits a fetched page. Infobip hands out each item once: called even while stopping. */
  emit(page: T[]): Promise<void>;
  /** Polling starts once this has resolved (e.g. the tracker has loaded). */
  ready?: Promise<void>;
  listener: PollListener;
  /** Present when copies share the account: only the holder of the turn polls. */
  turn?: PollTurn;
}

/**
 * Polls a paged source: one poll at a time, the next armed only after the last has finished,
 * failures backed off (honouring Retry-After), and a page once fetched always emitted.
 */
export class Poller<T> {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private failures = 0;
  private unauthorized = false;
  private stopped = false;
  /** The poll under way's; each poll has its own (a timed-out fetch aborts the one it was given). */
  private controller = new AbortController();

  constructor(private readonly options: PollerOptions<T>) {}

  start(): void {
    this.running = (this.options.ready ?? Promise.resolve()).then(() => this.poll());
  }

  /** Stops polling: a poll under way may finish (its page is emitted) for up to `patienceMs`, then is aborted. */
  async stop(patienceMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const patience = setTimeout(() => this.controller.abort(), patienceMs);
    await this.running;
    clearTimeout(patience);
    await this.options.turn?.release();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.running = this.poll();
      },
      Math.min(Math.max(0, delayMs), MAX_TIMER_MS),
    );
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    const { listener, pageSize, intervalMs, turn } = this.options;
    this.controller = new AbortController();
    if (turn && !(await turn.mine())) {
      if (this.stopped) return;
      listener.standby?.();
      this.schedule(Math.min(intervalMs, STANDBY_CHECK_MS));
      return;
    }
    if (this.stopped) return;
    try {
      for (;;) {
        const page = await this.options.fetch(this.controller);
        this.failures = 0;
        this.unauthorized = false;
        await this.options.emit(page);
        if (page.length < pageSize || this.stopped) break;
      }
      listener.idle();
      this.schedule(intervalMs);
    } catch (error) {
      if (this.stopped) return;
      const failure = error instanceof SendFailure ? error : undefined;
      const status = failure?.statusCode;
      if (status === 401 || status === 403) {
        listener.unauthorized(status, !this.unauthorized);
        this.unauthorized = true;
        this.schedule(intervalMs);
        return;
      }
      this.failures++;
      const delayMs = Math.max(failure?.retryAfterMs ?? 0, backoffDelay(this.failures));
      listener.retrying(delayMs, error, this.failures === 1);
      this.schedule(delayMs);
    }
  }
}
