// What the editor's Infobip sidebar makes of the runtime's pictures. Shared with the editor (the
// build bundles it into the account's editor script), so it must stay free of Node.js APIs.
import type { AccountPicture, AccountsAnswer } from './stats';

/** Failures within this long, with nothing sent after them, turn a card's state into a warning. */
export const FAILING_MS = 60_000;

/**
 * A card's state: `failing` and `sharedDown` are warnings that a runtime state of sending or idle
 * would hide: every send of the last minute failed (or was rejected), or the account's shared state
 * (Redis) is unavailable and this copy goes on alone.
 */
export type CardState = 'sending' | 'idle' | 'paused' | 'notSetUp' | 'closed' | 'failing' | 'sharedDown';
export type CardLevel = 'busy' | 'ok' | 'warning' | 'error';

const LEVELS: Record<CardState, CardLevel> = {
  sending: 'busy',
  idle: 'ok',
  paused: 'warning',
  failing: 'warning',
  sharedDown: 'warning',
  notSetUp: 'error',
  closed: 'error',
};

type Seen = Pick<
  AccountPicture,
  'state' | 'pausedUntil' | 'waiting' | 'inFlight' | 'shared' | 'lastFailed' | 'lastSent'
>;

/** Whether the last minute brought a failure and nothing was sent after it. */
export function failing(picture: Seen, now: number): boolean {
  const { lastFailed, lastSent } = picture;
  return (
    lastFailed !== undefined && lastFailed > now - FAILING_MS && !(lastSent !== undefined && lastSent >= lastFailed)
  );
}

/** The state a card shows at `now` (on the runtime's clock), and how it weighs. */
export function cardState(picture: Seen, now: number): { state: CardState; level: CardLevel } {
  let state: CardState;
  if (picture.state === 'closed' || picture.state === 'notSetUp') state = picture.state;
  else if (picture.state === 'paused' && (picture.pausedUntil ?? 0) > now) state = 'paused';
  else if (failing(picture, now)) state = 'failing';
  else if (picture.shared && !picture.shared.available) state = 'sharedDown';
  else state = picture.waiting + picture.inFlight > 0 ? 'sending' : 'idle';
  return { state, level: LEVELS[state] };
}

const isAnswer = (received: unknown): received is AccountsAnswer =>
  typeof received === 'object' &&
  received !== null &&
  typeof (received as AccountsAnswer).stamp === 'number' &&
  Array.isArray((received as AccountsAnswer).accounts);

/**
 * The newest answer of the admin endpoint the editor has: answers can overlap (the first fetch and
 * one after a comms signal) and arrive out of order, and an older one must not replace a newer
 * one. Also where the runtime's clock stands, so that a card reads the pictures' times (a pause's
 * end, the last failure, the last 5 minutes) on the clock that wrote them.
 */
export class LatestAnswer {
  private stamp = -Infinity;
  private offset = 0;

  /** The answer's pictures when it is newer than every answer accepted before, else undefined. */
  accept(received: unknown): AccountPicture[] | undefined {
    if (!isAnswer(received) || received.stamp <= this.stamp) return undefined;
    this.stamp = received.stamp;
    this.offset = Date.now() - received.stamp;
    return received.accounts;
  }

  /** Now on the runtime's clock (the browser's may be off). */
  now(): number {
    return Date.now() - this.offset;
  }
}
