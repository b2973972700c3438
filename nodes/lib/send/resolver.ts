import type { LogEntry } from '../http/infobip';
import { LOGS_PAGE } from '../http/client';
import { monotonicNow } from '../limits';

/** The first lookup comes about a second after the failure (a log may lag its acceptance). */
export const FIRST_WAIT_MS = 1000;
/** Each further lookup waits twice as long as the last, up to this. */
export const LONGEST_WAIT_MS = 30_000;
/**
 * The most one lookup's query may hold: every id waiting that fits, in a URL that proxies and
 * servers take (8 KB is a common cap; about 127 of the node's ids).
 */
export const MAX_QUERY_CHARS = 6000;

export interface ResolverOptions {
  /** Reads the logs of these ids (through the account's pipeline); rejects when they cannot be read. */
  lookup(ids: string[]): Promise<LogEntry[]>;
  /** Told of an answer that named ids no one asked for, or entries that are not logs: those are ignored. */
  ignored(count: number): void;
  /** Told when a resolution's listener threw (the resolution still goes on to its end). */
  listenerFailed?: (error: unknown) => void;
  /** Monotonic milliseconds. */
  now?: () => number;
  maxQueryChars?: number;
}

/** What a resolution learns, as it learns it. */
export interface ResolutionListener {
  /** Logs of asked ids, each once. */
  found(entries: LogEntry[]): void;
  /**
   * The window closed (or the resolution was stopped): `missing` are the ids the logs never
   * showed; `failure` why the last lookup could not read them, if it could not.
   */
  end(missing: string[], failure?: unknown): void;
}

export interface ResolutionHandle {
  /** Ends the resolution now, as if its window had closed, with `reason` as its failure. */
  stop(reason: unknown): void;
}

class Ticket implements ResolutionHandle {
  readonly waiting: Set<string>;
  /** When (monotonic ms) it is next looked up, and how long it waits after that lookup (each wait longer). */
  nextAt: number;
  wait = FIRST_WAIT_MS * 2;
  /** Lookups under way that carry some of its ids; its round ends when they have all answered. */
  lookups = 0;
  /** The round under way began when the window had already closed: it is the last one. */
  lastRound = false;
  failure?: unknown;
  ended = false;

  constructor(
    ids: readonly string[],
    readonly deadline: number,
    now: number,
    private readonly listener: ResolutionListener,
    private readonly remove: (ticket: Ticket) => void,
  ) {
    this.waiting = new Set(ids);
    this.nextAt = Math.min(now + FIRST_WAIT_MS, deadline);
  }

  found(entries: LogEntry[]): void {
    const mine = entries.filter((entry) => this.waiting.delete(entry.messageId));
    if (mine.length > 0) this.listener.found(mine);
    if (this.waiting.size === 0) this.end();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.remove(this);
    this.listener.end([...this.waiting], this.waiting.size > 0 ? this.failure : undefined);
  }

  stop(reason: unknown): void {
    this.failure = reason;
    this.end();
  }
}

/**
 * Finds out from Infobip's message logs what became of messages whose answer was lost. Every id
 * waiting goes into one lookup, as many as fit a request (the rest into the next ones); each
 * resolution is looked up about a second after it began, then after waits that double, and a
 * last time when its window closes. A resolution ends as soon as every id of it was found, else
 * when the window has closed, naming those that were not.
 */
export class Resolver {
  private readonly tickets = new Set<Ticket>();
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  /** Set once closed: what is asked then ends at once with the close's reason. */
  private closedBy?: { reason: unknown };
  private readonly now: () => number;
  private readonly maxQueryChars: number;

  constructor(private readonly options: ResolverOptions) {
    this.now = options.now ?? monotonicNow;
    this.maxQueryChars = options.maxQueryChars ?? MAX_QUERY_CHARS;
  }

  /** Ids being looked for now. */
  get waiting(): number {
    let count = 0;
    for (const ticket of this.tickets) count += ticket.waiting.size;
    return count;
  }

  /** Looks for `ids` in the logs for `windowMs` from now. */
  resolve(ids: readonly string[], windowMs: number, listener: ResolutionListener): ResolutionHandle {
    const now = this.now();
    const ticket = new Ticket(ids, now + windowMs, now, listener, (done) => this.tickets.delete(done));
    if (this.closedBy) {
      ticket.stop(this.closedBy.reason);
      return ticket;
    }
    if (ticket.waiting.size === 0) {
      ticket.end();
      return ticket;
    }
    this.tickets.add(ticket);
    this.schedule();
    return ticket;
  }

  /** Ends every resolution now (the account closes), naming `reason`. */
  close(reason: unknown): void {
    this.closedBy = { reason };
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    for (const ticket of [...this.tickets]) ticket.stop(reason);
  }

  /** Sets the timer for the earliest ticket that is due and not being looked up. */
  private schedule(): void {
    let next = Infinity;
    for (const ticket of this.tickets) if (ticket.lookups === 0) next = Math.min(next, ticket.nextAt);
    if (next === Infinity || next >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => this.lookUpDue(), Math.max(0, next - this.now()));
  }

  /**
   * Starts the lookups of every ticket that is due, the last one topped up with whole tickets not
   * yet due (a lookup costs the same with more ids in it; theirs then wait longer).
   */
  private lookUpDue(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    const idle = [...this.tickets].filter((ticket) => ticket.lookups === 0).sort((a, b) => a.nextAt - b.nextAt);
    const batches: { ids: string[]; tickets: Set<Ticket> }[] = [];
    let batch = { ids: [] as string[], tickets: new Set<Ticket>(), chars: 0 };
    const costOf = (id: string) => encodeURIComponent(id).length + 'messageId=&'.length;
    const full = (more: number, chars: number) =>
      batch.ids.length + more > LOGS_PAGE || batch.chars + chars > this.maxQueryChars;
    for (const ticket of idle) {
      if (ticket.nextAt <= now) {
        for (const id of ticket.waiting) {
          if (batch.ids.length > 0 && full(1, costOf(id))) {
            batches.push(batch);
            batch = { ids: [], tickets: new Set(), chars: 0 };
          }
          batch.ids.push(id);
          batch.tickets.add(ticket);
          batch.chars += costOf(id);
        }
        continue;
      }
      // Not yet due: only where the last lookup has room for all of it.
      const ids = [...ticket.waiting];
      const chars = ids.reduce((sum, id) => sum + costOf(id), 0);
      if (batch.ids.length === 0 || full(ids.length, chars)) break;
      batch.ids.push(...ids);
      batch.tickets.add(ticket);
      batch.chars += chars;
    }
    if (batch.ids.length > 0) batches.push(batch);
    for (const { tickets } of batches) {
      for (const ticket of tickets) {
        if (ticket.lookups++ > 0) continue;
        ticket.lastRound = now >= ticket.deadline;
        ticket.failure = undefined;
      }
    }
    for (const { ids, tickets } of batches) void this.lookUp(ids, tickets);
    this.schedule();
  }

  private async lookUp(ids: string[], tickets: Set<Ticket>): Promise<void> {
    let entries: LogEntry[] = [];
    let failure: unknown;
    try {
      entries = this.accepted(ids, await this.options.lookup(ids));
    } catch (error) {
      failure = error;
    }
    for (const ticket of tickets) {
      // One listener that throws must not hold the others (nor itself) back.
      try {
        this.answered(ticket, entries, failure);
      } catch (error) {
        this.options.listenerFailed?.(error);
      }
    }
    if (!this.closedBy) this.schedule();
  }

  /** One lookup's answer for one ticket: what it found, and when it is looked up next (or that it ends). */
  private answered(ticket: Ticket, entries: LogEntry[], failure: unknown): void {
    if (ticket.ended) return;
    const last = --ticket.lookups === 0;
    if (failure !== undefined) ticket.failure = failure;
    try {
      ticket.found(entries);
    } finally {
      if (!ticket.ended && last) {
        if (ticket.lastRound) ticket.end();
        else {
          ticket.nextAt = Math.min(this.now() + ticket.wait, ticket.deadline);
          ticket.wait = Math.min(ticket.wait * 2, LONGEST_WAIT_MS);
        }
      }
    }
  }

  /** The entries that are logs of asked ids, each once; the others are ignored, and said so. */
  private accepted(ids: readonly string[], entries: unknown[]): LogEntry[] {
    const asked = new Set(ids);
    const kept = new Map<string, LogEntry>();
    let ignored = 0;
    for (const entry of entries) {
      const id = (entry as { messageId?: unknown } | null)?.messageId;
      if (typeof entry !== 'object' || typeof id !== 'string' || !asked.has(id)) ignored++;
      else if (!kept.has(id)) kept.set(id, entry as LogEntry);
    }
    if (ignored > 0) this.options.ignored(ignored);
    return [...kept.values()];
  }
}
