import { INFOBIP_WINDOW_MS } from '../limits';
import {
  type TrackBy,
  type TrackedMessage,
  type Tracker,
  type Tracking,
  dueFrom,
  goesAt,
  handedOut,
  isTracked,
  remaining,
} from './tracker';
import { partIdsOf } from '../send/request';
import type { SharedState } from '../shared/redis';

/** The fields of an entry that change after it was tracked (as JSON); the rest is written once. */
const CHANGING = [
  'reported',
  'overdue',
  'report',
  'combined',
  'resent',
  'acceptedReport',
  'scheduledAt',
  'paused',
] as const;

/**
 * A message's score in the cluster's overdue set: when its overdue time starts. A paused one is
 * scored at the end of its 48 hours (the set is trimmed by score) and skipped when claimed.
 */
const dueScore = (entry: Parameters<typeof dueFrom>[0]) =>
  entry.paused ? goesAt(entry) + INFOBIP_WINDOW_MS : dueFrom(entry);
/** Overdue candidates claimed per check at most. */
const CLAIM_BATCH = 1000;

/** Sets fields of an entry only while it exists (an entry forgotten or expired is not brought back). */
const UPDATE_IF_PRESENT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1`;

/** Sets a split message's emitted status unless it is that already: 1 when set (this copy emits). */
const SET_COMBINED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 1 end
if redis.call('HGET', KEYS[1], 'combined') == ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'combined', ARGV[1])
return 1`;

/**
 * Tracking shared by the copies of one account through Redis: every copy finds what any copy
 * sent (a hash per message, expiring with Infobip's 48-hour window, never loaded as a whole),
 * and the messages that may become overdue wait in one sorted set by send time, from which a
 * copy claims each one by removing it (Redis answers that removal to one copy only).
 *
 * This copy's own tracker keeps everything it sent too: it bounds what the copy adds (Track),
 * answers while Redis is down, and watches for overdue only what Redis could not take.
 */
export class SharedTracker implements Tracking {
  private readonly prefix: string;
  private readonly due: string;
  private readonly drop?: (key: string) => void;
  readonly ready: Promise<void>;

  constructor(
    private readonly shared: SharedState,
    private readonly local: Tracker,
    private readonly by: TrackBy = 'messageId',
  ) {
    this.prefix = shared.key(by === 'number' ? 'to' : 'sms', '');
    this.due = shared.key('due');
    this.drop = SharedTracker.dropped(shared, by);
    this.ready = Promise.all([local.ready, shared.connected]).then(() => undefined);
  }

  /**
   * A message this copy's tracker let go of (its limit) leaves Redis too. A number does not: another
   * copy may have sent to it since, and Redis's own expiry bounds numbers.
   */
  static dropped(shared: SharedState, by: TrackBy): ((key: string) => void) | undefined {
    if (by === 'number') return undefined;
    const prefix = shared.key('sms', '');
    const due = shared.key('due');
    return (key) => {
      if (!shared.available) return;
      shared.client
        .multi()
        .del(prefix + key)
        .zrem(due, key)
        .exec()
        .catch((error: unknown) => shared.failed(error));
    };
  }

  get size(): number {
    return this.local.size;
  }

  track(entry: TrackedMessage): void {
    if (!this.shared.available) {
      this.local.track(entry);
      return;
    }
    this.local.track(entry, false);
    const key = this.local.keyOf(entry);
    const { reported: _r, overdue: _o, report: _p, combined: _c, ...fixed } = entry;
    const writing = this.shared.client
      .multi()
      .del(this.prefix + key)
      .hset(this.prefix + key, 'entry', JSON.stringify({ ...fixed, account: this.local.account }))
      .pexpireat(this.prefix + key, goesAt(entry) + INFOBIP_WINDOW_MS);
    if (this.by === 'messageId') writing.zadd(this.due, dueScore(entry), key);
    if (this.by === 'messageId' && entry.bulkId !== undefined) {
      const bulk = this.shared.key('bulk', entry.bulkId);
      writing.sadd(bulk, key).pexpireat(bulk, goesAt(entry) + INFOBIP_WINDOW_MS);
    }
    writing.exec().catch((error: unknown) => {
      this.shared.failed(error);
      // Not shared: this copy watches it.
      this.local.track(entry);
    });
  }

  async lookup(key: string): Promise<TrackedMessage | undefined> {
    const entry = await this.read(key);
    return entry ? handedOut(entry) : this.local.lookup(key);
  }

  async markReported(messageId: string, report?: unknown): Promise<void> {
    const local = this.local.markReported(messageId, report);
    const fields = report === undefined ? ['reported', '1'] : ['reported', '1', 'report', JSON.stringify(report)];
    await Promise.all([local, this.update(messageId, fields)]);
  }

  async markResent(messageId: string): Promise<void> {
    await Promise.all([this.local.markResent(messageId), this.update(messageId, ['resent', 'true'])]);
  }

  async markAcceptedReport(messageId: string): Promise<void> {
    await Promise.all([this.local.markAcceptedReport(messageId), this.update(messageId, ['acceptedReport', 'true'])]);
  }

  /** The messages of a scheduled bulk, whichever copy sent them. */
  async bulk(bulkId: string): Promise<TrackedMessage[]> {
    const own = await this.local.bulk(bulkId);
    if (!this.shared.available) return own;
    try {
      const keys = await this.shared.client.smembers(this.shared.key('bulk', bulkId));
      const known = new Set(own.map((entry) => entry.messageId));
      const others = await Promise.all(keys.filter((key) => !known.has(key)).map((key) => this.read(key)));
      return [...own, ...others.filter((entry): entry is TrackedMessage => entry !== undefined)];
    } catch (error) {
      this.shared.failed(error);
      return own;
    }
  }

  /** As Tracker's; the cluster's overdue set takes the new time, if the message is still in it. */
  async reschedule(messageId: string, change: Pick<TrackedMessage, 'scheduledAt' | 'paused'>): Promise<void> {
    await this.local.reschedule(messageId, change);
    if (!this.shared.available) return;
    const entry = await this.read(messageId);
    if (!entry) return;
    const fields = Object.entries(change).flatMap(([field, value]) => [field, JSON.stringify(value)]);
    await this.update(messageId, fields);
    const changed = { ...entry, ...change };
    // Its 48 hours count from its (new) time; it stays in the overdue set only if it still was.
    const expiry = goesAt(changed) + INFOBIP_WINDOW_MS;
    const writing = this.shared.client
      .multi()
      .zadd(this.due, 'XX', dueScore(changed), messageId)
      .pexpireat(this.prefix + messageId, expiry);
    if (entry.bulkId !== undefined) writing.pexpireat(this.shared.key('bulk', entry.bulkId), expiry);
    await writing.exec().catch((error: unknown) => this.shared.failed(error));
  }

  async entry(messageId: string): Promise<TrackedMessage | undefined> {
    return (await this.read(messageId)) ?? this.local.entry(messageId);
  }

  /** As Tracker's; the notes of the cluster are a set in Redis that every copy adds to at once. */
  async partsReported(first: string, index: number, count: number): Promise<number | undefined> {
    const local = this.local.partsReported(first, index, count);
    if (!this.shared.available) return local;
    try {
      const key = this.shared.key('parts', first);
      const answers = (await this.shared.client.multi().exists(key).sadd(key, index).scard(key).exec()) ?? [];
      const [[, existed], , [, counted]] = answers as [unknown, number][];
      await local;
      if (existed) return counted;
      // The first note of this message: parts reported before notes existed are read once.
      const parts = await Promise.all(partIdsOf(first, count).map((id) => this.read(id)));
      const earlier = parts.flatMap((part, at) => (part?.report !== undefined ? [at + 1] : []));
      const writing = this.shared.client.multi();
      if (earlier.length > 0) writing.sadd(key, ...earlier);
      writing.pexpireat(key, (parts[0]?.at ?? Date.now()) + INFOBIP_WINDOW_MS).scard(key);
      const written = (await writing.exec()) ?? [];
      return written.at(-1)?.[1] as number;
    } catch (error) {
      this.shared.failed(error);
      return local;
    }
  }

  async setCombined(messageId: string, combined: string): Promise<boolean> {
    const local = await this.local.setCombined(messageId, combined);
    if (!this.shared.available) return local;
    try {
      const key = this.prefix + messageId;
      return (await this.shared.client.eval(SET_COMBINED, 1, key, JSON.stringify(combined))) === 1;
    } catch (error) {
      this.shared.failed(error);
      return local;
    }
  }

  forget(messageId: string): boolean {
    // This copy's own message left Redis with it (its tracker's `dropped`); another copy's is removed here.
    const own = this.local.forget(messageId);
    if (!own) this.drop?.(messageId);
    return own;
  }

  /**
   * What is overdue: this copy's own unshared messages, and those of the cluster's that this copy
   * claimed from the sorted set (each is claimed by one copy) and that no report reached.
   */
  async takeOverdue(sentBefore: number): Promise<TrackedMessage[]> {
    const own = await this.local.takeOverdue(sentBefore);
    if (!this.shared.available) return own;
    try {
      const client = this.shared.client;
      await client.zremrangebyscore(this.due, '-inf', Date.now() - INFOBIP_WINDOW_MS);
      const candidates = await client.zrangebyscore(this.due, '-inf', sentBefore, 'LIMIT', 0, CLAIM_BATCH);
      if (candidates.length === 0) return own;
      const claiming = client.multi();
      for (const id of candidates) claiming.zrem(this.due, id);
      const removed = (await claiming.exec()) ?? [];
      const claimed = candidates.filter((_id, index) => removed[index]?.[1] === 1);
      const entries = await Promise.all(claimed.map((id) => this.read(id)));
      const due: TrackedMessage[] = [];
      entries.forEach((entry, index) => {
        if (!entry || entry.reported || entry.overdue || entry.paused) return;
        void this.update(claimed[index], ['overdue', 'true']);
        due.push(handedOut(entry));
      });
      return [...own, ...due];
    } catch (error) {
      this.shared.failed(error);
      return own;
    }
  }

  /** The entry in Redis; undefined when absent, expired, or Redis failed. */
  private async read(key: string): Promise<TrackedMessage | undefined> {
    if (!this.shared.available) return undefined;
    try {
      const stored = await this.shared.client.hgetall(this.prefix + key);
      if (!stored.entry) return undefined;
      const entry = JSON.parse(stored.entry) as TrackedMessage;
      for (const field of CHANGING) {
        if (stored[field] !== undefined)
          (entry as unknown as Record<string, unknown>)[field] = JSON.parse(stored[field]);
      }
      return isTracked(entry) && remaining(goesAt(entry)) > 0 ? entry : undefined;
    } catch (error) {
      this.shared.failed(error);
      return undefined;
    }
  }

  private async update(key: string, fields: string[]): Promise<void> {
    if (!this.shared.available) return;
    try {
      await this.shared.client.eval(UPDATE_IF_PRESENT, 1, this.prefix + key, ...fields);
      if (this.by === 'messageId' && fields.includes('reported')) await this.shared.client.zrem(this.due, key);
    } catch (error) {
      this.shared.failed(error);
    }
  }
}
