import { MAX_BACKOFF_MS } from '../limits';

/**
 * The wait before attempt `attempt + 1` after `attempt` failures: exponential from `baseMs`,
 * capped at MAX_BACKOFF_MS, with "equal jitter" (half fixed, half random) so that several
 * clients failing together do not come back together.
 */
export function backoffDelay(attempt: number, baseMs = 1000, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
