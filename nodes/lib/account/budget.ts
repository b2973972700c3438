import { monotonicNow, nextStartAfter, startInterval } from '../limits';
import type { BudgetAnswer, RequestBudget } from '../shared/budget';

/** A view that found every request slot of the account taken asks again after this long. */
const SLOT_RETRY_MS = 15;

/** What one account node asks of the budget: its Rate limit (0 for none) and Parallel. */
export interface BudgetLimits {
  ratePerSecond: number;
  concurrency: number;
}

/**
 * The request budget of several account nodes in one Node-RED that speak for one Infobip account
 * (same base URL and credentials): the strictest Rate limit and Parallel of them hold for all
 * their requests together, and a 429 pause of one holds the others back. A single node is not
 * asked (its own pipeline keeps its limits).
 */
export class ProcessBudget implements RequestBudget {
  private readonly limits = new Map<object, BudgetLimits>();
  private inFlight = 0;
  private nextStartAt = 0;
  private pausedUntil = 0;
  private pausedStatus = 0;

  /** Adds a node's limits; returns the function that takes them away. */
  add(owner: object, limits: BudgetLimits): () => void {
    this.limits.set(owner, limits);
    return () => this.limits.delete(owner);
  }

  /** The strictest Rate limit (0 when none has one) and Parallel of the account's nodes. */
  get strictest(): BudgetLimits {
    const all = [...this.limits.values()];
    const rates = all.map((limits) => limits.ratePerSecond).filter((rate) => rate > 0);
    return {
      ratePerSecond: rates.length > 0 ? Math.min(...rates) : 0,
      concurrency: Math.min(...all.map((limits) => limits.concurrency)),
    };
  }

  /** Only several account nodes need holding back together: one keeps its own limits. */
  get active(): boolean {
    return this.limits.size > 1;
  }

  take(): Promise<BudgetAnswer> {
    return Promise.resolve(this.answer(monotonicNow()));
  }

  pause(untilEpochMs: number, status: number): void {
    const until = monotonicNow() + (untilEpochMs - Date.now());
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    this.pausedStatus = status;
  }

  private answer(now: number): BudgetAnswer {
    if (this.active) {
      if (now < this.pausedUntil) return { waitMs: this.pausedUntil - now, pausedStatus: this.pausedStatus };
      const { ratePerSecond, concurrency } = this.strictest;
      if (this.inFlight >= concurrency) return { waitMs: SLOT_RETRY_MS };
      if (now < this.nextStartAt) return { waitMs: this.nextStartAt - now };
      this.nextStartAt = nextStartAfter(this.nextStartAt, now, startInterval(ratePerSecond));
    }
    this.inFlight++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
      },
    };
  }
}
