/** How long Infobip keeps a message's reports on offer, and so how long we remember what was sent. */
export const INFOBIP_WINDOW_MS = 48 * 3600 * 1000;
/** The longest delay setTimeout holds (2^31-1 ms); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;
/** How long closing waits for requests in flight; below Node-RED's 15 s close timeout. */
export const CLOSE_GRACE_MS = 10_000;
/** A wait for the server (backoff, Retry-After of a report poll) never exceeds this. */
export const MAX_BACKOFF_MS = 30_000;

/** A clock in whole milliseconds that never steps back (wall-clock changes do not stall pacing); read at call time so fake timers reach it. */
export const monotonicNow = (): number => Math.round(performance.now());

/**
 * Request starts are planned at this share of the Rate limit. Infobip may count any sliding second
 * as requests arrive, and requests arrive a little earlier or later than they were started (the
 * network, the event loop, several copies' clocks): planning at the limit exactly would let the
 * odd second hold one request too many.
 */
export const RATE_MARGIN = 0.95;

/** Milliseconds between request starts at `ratePerSecond` (0 for no limit), RATE_MARGIN below it. */
export const startInterval = (ratePerSecond: number): number =>
  ratePerSecond > 0 ? 1000 / (ratePerSecond * RATE_MARGIN) : 0;

/**
 * When the start after one taken at `now` is due, the last being due at `dueAt`: `interval` after
 * the due time, so that a timer firing a little late does not slow the pace (lateness would add
 * up), and from `now` after a whole interval late, so that an idle time brings no burst.
 */
export const nextStartAfter = (dueAt: number, now: number, interval: number): number =>
  (now - dueAt < interval ? dueAt : now) + interval;
