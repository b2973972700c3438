import crypto from 'node:crypto';
import { INFOBIP_WINDOW_MS } from '../limits';
import { firstSightings } from '../recent';
import type { SharedState } from './redis';

/** Whether a key is seen for the first time (within the report window). */
export type Sightings = (key: string) => Promise<boolean>;

/** A node's own first sightings, in the shared ones' form. */
export function ownSightings(max: number): Sightings {
  const local = firstSightings(max);
  return (key) => Promise.resolve(local(key));
}

/**
 * First sightings for the whole cluster: a key is first seen by the one copy whose
 * set-if-absent Redis accepts, for the 48-hour window. While Redis is down this copy's own
 * memory decides (it also remembers every key, for the next outage).
 */
export function sharedSightings(shared: SharedState, kind: string, max: number): Sightings {
  const local = firstSightings(max);
  return async (key) => {
    const mine = local(key);
    if (!shared.available) return mine;
    const hashed = crypto.createHash('sha256').update(key).digest('base64url').slice(0, 22);
    try {
      return (await shared.client.set(shared.key('seen', kind, hashed), '1', 'PX', INFOBIP_WINDOW_MS, 'NX')) === 'OK';
    } catch (error) {
      shared.failed(error);
      return mine;
    }
  };
}
