import type { LogEntry, MessageResult, SendResult } from '../http/infobip';
import { SmsError } from '../errors';
import type { JobHandle, JobListener } from './job';
import type { ResolutionHandle, Resolver } from './resolver';
import { type SendRequest, partIdsOf } from './request';

/** How a destination whose answer was lost got its outcome. */
export type ResolvedBy = 'logs' | 'resend';

/** Why destinations still end "delivery unknown" once their lost answer was looked into. */
export interface StillUnknown {
  /** The destinations, in the request's order. */
  destinations: string[];
  /** The failure that made them unknown: the lost answer's, or the resend's. */
  cause: unknown;
  /** Seconds the logs were searched (the last window). */
  seconds: number;
  /** Why the logs could not be read, when the last lookup could not read them. */
  logsFailure?: unknown;
  /** Whether they were sent once more (idempotency) before this. */
  resent: boolean;
  /** Whether the node closed before the window did. */
  stopped: boolean;
  /** Whether a resend was due but could not start within the window (counted from the first send). */
  tooLate: boolean;
  /** Split payloads: each destination's 1-based parts that neither the logs nor a resend showed. */
  missingParts?: Record<string, number[]>;
}

export interface LostAnswerHooks {
  /** Destinations whose every part is now known: `result` lists their entries, `messageIds` their first parts' ids. */
  found(destinations: string[], result: SendResult, messageIds: string[], by: ResolvedBy): void;
  /** Sends `request` (the parts not found, with their ids) once more; says which ids go again first. */
  resend(request: SendRequest, ids: string[], listener: JobListener): JobHandle;
  /** Called once, last: with the destinations that stay unknown, or with nothing when every one was found. */
  end(unknown?: StillUnknown): void;
}

/** A failure after which the request may have reached Infobip: its destinations' outcome is open. */
export const isAmbiguous = (error: unknown): boolean =>
  error instanceof SmsError && (error.statusReason === 'unknown' || error.statusReason === 'badResponse');

/**
 * Gives the destinations of a v3 request whose answer was lost (or left them out) a definite
 * outcome: their ids are looked up in Infobip's logs for the window; with idempotency on, what
 * the logs never showed is sent once more with the very same ids (the only resend of an
 * ambiguous request), and a resend whose answer is lost too is looked up for one more window.
 * What is still not known then ends "delivery unknown". Never sends without idempotency.
 */
export class LostAnswer {
  private readonly firstIds = new Map<string, string>();
  private readonly partCount: number;
  /** The entry of every part id found so far. */
  private readonly found = new Map<string, MessageResult>();
  private readonly open: Set<string>;
  private resent = false;
  private tooLate = false;
  private handle?: ResolutionHandle;
  private resendJob?: JobHandle;
  private ended = false;
  /** Set once stopped (the node closes): nothing more is looked up or sent. */
  private stopped = false;

  constructor(
    private readonly request: SendRequest,
    destinations: readonly string[],
    private cause: unknown,
    private readonly settings: { windowMs: number; timeoutMs: number; idempotent: boolean; resolver: Resolver },
    private readonly hooks: LostAnswerHooks,
  ) {
    this.partCount = request.parts?.length ?? 1;
    request.to.forEach((to, index) => this.firstIds.set(to, request.messageIds![index]));
    this.open = new Set(destinations);
    this.lookUp('logs');
  }

  /** Destinations not known yet. */
  get waiting(): number {
    return this.open.size;
  }

  /** Whether it has ended (every destination known, or the rest unknown). */
  get done(): boolean {
    return this.ended;
  }

  /** Ends now (the node closes): what is open ends "delivery unknown", with `reason` as the logs' failure. */
  stop(reason: unknown): void {
    this.stopped = true;
    if (this.handle) this.handle.stop(reason);
    // A resend in flight ends with the node's other requests, and then this ends.
    else if (!this.resendJob) this.finish(reason);
  }

  private partIds(to: string): string[] {
    return partIdsOf(this.firstIds.get(to)!, this.partCount);
  }

  private lookUp(by: ResolvedBy): void {
    const ids = [...this.open].flatMap((to) => this.partIds(to).filter((id) => !this.found.has(id)));
    let ended = false;
    const handle = this.settings.resolver.resolve(ids, this.settings.windowMs, {
      found: (entries) => this.learn(entries, by),
      end: (missing, failure) => {
        ended = true;
        this.handle = undefined;
        if (this.open.size === 0 || this.stopped) this.finish(failure);
        else if (this.settings.idempotent && !this.resent && failure === undefined) this.sendAgain(missing);
        else this.finish(failure);
      },
    });
    // A resolution that ended at once (the account had closed) holds no handle.
    if (!ended) this.handle = handle;
  }

  /** Notes entries (from the logs, or a resend's answer) of asked ids; destinations now complete are handed on. */
  private learn(entries: (LogEntry | MessageResult)[], by: ResolvedBy): void {
    for (const entry of entries) {
      if (typeof entry.messageId === 'string') this.found.set(entry.messageId, entry as MessageResult);
    }
    const complete = [...this.open].filter((to) => this.partIds(to).every((id) => this.found.has(id)));
    if (complete.length === 0) return;
    complete.forEach((to) => this.open.delete(to));
    const messages = complete.flatMap((to) => this.partIds(to).map((id) => this.found.get(id)!));
    // The request's bulk (a scheduled one's own), else the one the entries name.
    const named = messages.find((entry) => typeof entry.bulkId === 'string')?.bulkId as string | undefined;
    const bulkId = this.request.bulkId ?? named;
    const body = bulkId === undefined ? { messages } : { bulkId, messages };
    this.hooks.found(
      complete,
      { statusCode: 200, body },
      complete.map((to) => this.firstIds.get(to)!),
      by,
    );
  }

  /** Sends the parts the logs never showed once more, with their ids; Infobip drops a repeat of what it accepted. */
  private sendAgain(missing: string[]): void {
    this.resent = true;
    const ids = new Set(missing);
    const destinations = this.request.to.filter((to) => this.open.has(to));
    const again: SendRequest = {
      ...this.request,
      to: destinations,
      messageIds: destinations.map((to) => this.firstIds.get(to)!),
      only: ids,
      source: undefined,
      // Never later than the window and twice Timeout (the lost answer's, the last lookup's) after the
      // first send, whatever waits came between: later, Infobip may no longer know it as a repeat.
      startBy: (this.request.sentAt ?? Date.now()) + this.settings.windowMs + 2 * this.settings.timeoutMs,
    };
    this.resendJob = this.hooks.resend(again, [...ids], (error, result) => {
      this.resendJob = undefined;
      if (result) {
        this.learn(
          result.body.messages.filter((entry) => entry.messageId !== undefined && ids.has(entry.messageId)),
          'resend',
        );
        if (this.open.size === 0 || this.stopped) this.finish();
        else this.lookUp('logs');
      } else if (error instanceof SmsError && error.key === 'resendTooLate') {
        // Never sent: the first request's outcome is as open as it was.
        this.tooLate = true;
        this.finish();
      } else if (isAmbiguous(error) && !this.stopped) {
        this.cause = error;
        this.lookUp('logs');
      } else {
        // Refused, or provably not sent: the first request's outcome is as open as it was.
        this.cause = error;
        this.finish();
      }
    });
  }

  private finish(logsFailure?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (this.open.size === 0) {
      this.hooks.end();
      return;
    }
    const destinations = this.request.to.filter((to) => this.open.has(to));
    const unknown: StillUnknown = {
      destinations,
      cause: this.cause,
      seconds: Math.round(this.settings.windowMs / 1000),
      resent: this.resent && !this.tooLate,
      stopped: this.stopped,
      tooLate: this.tooLate,
    };
    if (logsFailure !== undefined && !this.stopped) unknown.logsFailure = logsFailure;
    if (this.partCount > 1) {
      unknown.missingParts = Object.fromEntries(
        destinations.map((to) => [
          to,
          this.partIds(to).flatMap((id, index) => (this.found.has(id) ? [] : [index + 1])),
        ]),
      );
    }
    this.hooks.end(unknown);
  }
}
