import { LRUCache } from 'lru-cache';
import { INFOBIP_WINDOW_MS } from './limits';

/**
 * A map that keeps at most `max` entries, each for the report window (48 hours) or the `ttl`
 * given when it is set, dropping the oldest first. `onDrop` is told of every entry that leaves
 * by eviction, expiry or delete (not by being set again).
 */
export function recentMap<V extends NonNullable<unknown>>(
  max: number,
  onDrop?: (key: string, value: V) => void,
): LRUCache<string, V> {
  return new LRUCache<string, V>({
    max,
    ttl: INFOBIP_WINDOW_MS,
    // Read the clock at call time, so that fake timers in unit tests reach it.
    perf: { now: () => performance.now() },
    dispose: onDrop
      ? (value, key, reason) => {
          if (reason !== 'set') onDrop(key, value);
        }
      : undefined,
  });
}

/**
 * A filter that passes each key the first time it is seen within the report window, remembering
 * at most `max` keys: Infobip repeats a push that was not answered in time.
 */
export function firstSightings(max: number): (key: string) => boolean {
  const seen = recentMap<true>(max);
  return (key) => {
    if (seen.has(key)) return false;
    seen.set(key, true);
    return true;
  };
}
