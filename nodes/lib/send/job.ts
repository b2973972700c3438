import type { SendResult } from '../http/infobip';
import type { SendRequest } from './request';

export interface JobHooks {
  /** Told when a failed attempt will be tried again after `delayMs`. */
  onRetryWait?(delayMs: number): void;
  /** Called once, just before the request first goes out (not for one that ends while waiting). */
  beforeSend?(request: SendRequest): void;
}

export type JobListener = (error: Error | undefined, response?: SendResult) => void;

/**
 * A request that carries no message (a lookup in Infobip's logs): it waits its turn under the same
 * rules (Parallel, Rate limit, the shared budget, 429/503 answers) and goes alone.
 */
export type SideWork = (controller: AbortController) => Promise<void>;

/** What a node holds of a job it submitted: whether it has ended. */
export interface JobHandle {
  readonly settled: boolean;
}

type JobState = 'new' | 'queued' | 'backingOff' | 'inFlight' | 'settled';

/**
 * One request on its way through the pipeline; it ends exactly once, with a response or an
 * error, and tells its listener. (A callback rather than a promise: a burst queues tens of
 * thousands of jobs, and a promise with its reactions costs several times a job's own size.)
 */
export class Job implements JobHandle {
  state: JobState = 'new';
  attempts = 0;
  networkFailures = 0;
  /** Consecutive 429/503 answers to this job, for its own backoff. */
  throttles = 0;
  /** Since when (monotonic ms) the account's 429/503 answers have held this job back, and the last status. */
  heldSince?: number;
  heldStatus?: number;
  /** Set while the job waits in the queue behind a pause of the account (checked when it would start). */
  heldByPause = false;
  startedAt = 0;
  cancelled = false;
  /** Set when a request with others was refused without naming which: it goes alone from then on. */
  alone = false;
  controller?: AbortController;
  /** The jobs of the request this one is in flight with (itself included). */
  batch: Job[] = [];
  private onEnd?: () => void;

  constructor(
    readonly request: SendRequest,
    readonly hooks: JobHooks,
    private readonly listener: JobListener,
    /** Set for a request that carries no message: it runs this instead of sending `request`. */
    readonly work?: SideWork,
  ) {
    if (work) this.alone = true;
  }

  get settled(): boolean {
    return this.state === 'settled';
  }

  /** Ends the job once; later calls are ignored. */
  end(error: Error | undefined, response?: SendResult): void {
    if (this.state === 'settled') return;
    this.state = 'settled';
    try {
      this.listener(error, response);
    } finally {
      this.onEnd?.();
    }
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
