import type { LRUCache } from 'lru-cache';
import { INFOBIP_WINDOW_MS } from '../limits';
import { recentMap } from '../recent';
import { partIdsOf } from '../send/request';

/** What Node-RED's context offers a node, in its callback form (works with every store). */
export interface ContextLike {
  get(key: string, store: string | undefined, callback: (error: Error | null, value?: unknown) => void): void;
  set(key: string, value: unknown, store: string | undefined, callback: (error: Error | null) => void): void;
  keys(store: string | undefined, callback: (error: Error | null, keys?: string[]) => void): void;
}

/** A message a binary-sms node sent and Infobip accepted, remembered until its report comes. */
export interface TrackedMessage {
  messageId: string;
  to: string;
  /** The output message's plain-JSON properties, without payload, parts, req and res. */
  sent: Record<string, unknown>;
  /**
   * Set when `sent` is one object shared by every destination of a fan-out (one copy, not one per
   * destination): handing it out adds this entry's `to` and `messageId`, and with 'ids' also
   * `messageIds` naming this destination's own id.
   */
  shared?: 'to' | 'ids';
  /** When Infobip accepted it (ms since epoch: it must mean the same after a restart). */
  at: number;
  /** The Node-RED instance that sent it; only it checks the message for overdue. */
  owner?: string;
  /** The account node (config node) that sent it: its report and inbound nodes receive what answers it. */
  account?: string;
  /** Set once it was reported overdue. */
  overdue?: boolean;
  /** Set once a report came: it is then never overdue (a part: once its final report came). */
  reported?: boolean;
  /** A part of a split payload: its 1-based index, the count, and the first part's id (the message's). */
  part?: { index: number; count: number; first: string };
  /** A part's final report, kept until the whole message is reported (also across a restart). */
  report?: unknown;
  /** On a first part: the indices of the parts whose final report came (assembly reads the parts once, when all have one). */
  reportedParts?: number[];
  /** On a first part: the whole message's status as last emitted. */
  combined?: string;
  /** Sent a second time with the same id after its answer was lost (idempotency): a REJECTED report may be the repeat's. */
  resent?: boolean;
  /** Set on a resent message once a report other than REJECTED came: a REJECTED one after it is the repeat's. */
  acceptedReport?: boolean;
  /** A scheduled message (v3): its bulk, and when it is to go out (epoch ms); overdue counts from then. */
  bulkId?: string;
  scheduledAt?: number;
  /** Set while its bulk is paused: never overdue meanwhile. */
  paused?: boolean;
}

/** When a message goes out: when handed to Infobip, or its scheduled time. Its 48 hours count from then. */
export const goesAt = (entry: Pick<TrackedMessage, 'at' | 'scheduledAt'>): number =>
  Math.max(entry.at, entry.scheduledAt ?? entry.at);

/** When a message's overdue time starts counting (never, while paused). */
export const dueFrom = (entry: Pick<TrackedMessage, 'at' | 'scheduledAt' | 'paused'>): number =>
  entry.paused ? Infinity : goesAt(entry);

export interface TrackerOptions {
  /** Messages remembered at most (the account's Track setting). */
  limit: number;
  /** This instance, as recorded in its entries. */
  owner: string;
  /** The account node whose memory this is, as recorded in its entries. */
  account?: string;
  /** Names this instance's entries had before (they are loaded as its own). */
  formerOwners?: readonly string[];
  /** Logs a warning (a store that fails is said once, not per message). */
  warn(text: string): void;
  /** What entries are found by (default: the message id). */
  by?: TrackBy;
  /** Told of each key that leaves by the limit or the report window (shared state drops it too). */
  dropped?: (key: string) => void;
}

/** What the account's nodes use of a tracker: this instance's own (Tracker) or one shared through Redis. */
export type Tracking = Pick<
  Tracker,
  | 'ready'
  | 'size'
  | 'track'
  | 'lookup'
  | 'markReported'
  | 'markResent'
  | 'markAcceptedReport'
  | 'bulk'
  | 'reschedule'
  | 'entry'
  | 'partsReported'
  | 'setCombined'
  | 'forget'
  | 'takeOverdue'
>;

/**
 * What a tracker finds entries by: the message id (for reports), or the destination number (for
 * replies: the last message sent to each number).
 */
export type TrackBy = 'messageId' | 'number';

const PREFIXES = { messageId: 'sms_', number: 'to_' };
/** A destination as Infobip writes it in inbound SMS: digits only. */
export const numberKey = (to: string) => to.replace(/\D/g, '');
/** A store that failed: the entry is kept and asked for again later. */
const STORE_FAILED = Symbol('store failed');

/**
 * The account's memory of accepted messages, kept in a Node-RED context store so that a
 * persistent store survives a restart and a shared one serves several instances. This
 * instance's own index (messageId → time accepted) orders its entries for the limit and the
 * overdue check, and drops them from the store when they leave it; lookups go to the store, so
 * they also find what other instances sent.
 */
export class Tracker {
  private readonly index: LRUCache<string, number>;
  /**
   * Tracking by id: the messages that may still become overdue (neither reported nor found
   * overdue), oldest first, so that an overdue check touches only what is due.
   */
  private readonly pending = new Map<string, number>();
  /** Scheduled messages that may still become overdue, with when their overdue time starts (any order: checked whole). */
  private readonly later = new Map<string, number>();
  /** The messages of each scheduled bulk this instance sent. */
  private readonly bulks = new Map<string, Set<string>>();
  private readonly byId: boolean;
  private storeFailureLogged = false;
  /** Per split message, the note of a part's report under way (see partsReported). */
  private readonly noting = new Map<string, Promise<number | undefined>>();
  private readonly prefix: string;
  /** The key an entry is found by. */
  /** The key an entry is found by (its id, or its number's digits). */
  readonly keyOf: (entry: TrackedMessage) => string;
  readonly ready: Promise<void>;

  constructor(
    private readonly context: ContextLike,
    private readonly store: string | undefined,
    private readonly options: TrackerOptions,
  ) {
    const by = options.by ?? 'messageId';
    this.byId = by === 'messageId';
    this.prefix = PREFIXES[by];
    this.keyOf = by === 'number' ? (entry) => numberKey(entry.to) : (entry) => entry.messageId;
    this.index = recentMap<number>(options.limit, (key) => {
      this.pending.delete(key);
      this.later.delete(key);
      this.write(key, undefined);
      options.dropped?.(key);
    });
    this.ready = this.load();
  }

  get size(): number {
    return this.index.size;
  }

  /** The account node whose memory this is. */
  get account(): string | undefined {
    return this.options.account;
  }

  /** Remembers a message; with `watch` false it is never overdue here (shared state watches it). */
  track(entry: TrackedMessage, watch = true): void {
    const kept = { ...entry, owner: this.options.owner, account: this.options.account };
    const key = this.keyOf(entry);
    // Set again, a number moves to the newest end of the limit.
    this.index.set(key, goesAt(entry), { ttl: remaining(goesAt(entry)) });
    this.pending.delete(key);
    this.later.delete(key);
    if (this.byId && watch) {
      if (entry.scheduledAt !== undefined) this.later.set(key, dueFrom(entry));
      else this.pending.set(key, entry.at);
    }
    if (this.byId && entry.bulkId !== undefined) {
      const members = this.bulks.get(entry.bulkId) ?? new Set<string>();
      this.bulks.set(entry.bulkId, members.add(key));
    }
    this.write(key, kept);
  }

  /** The tracked messages of a scheduled bulk this instance sent (every part of a split one). */
  async bulk(bulkId: string): Promise<TrackedMessage[]> {
    const members = this.bulks.get(bulkId);
    if (!members) return [];
    const entries = await Promise.all([...members].map((key) => this.read(key)));
    const found = entries.filter((entry): entry is TrackedMessage => entry !== STORE_FAILED && entry !== undefined);
    // Members that are gone (reported, forgotten, expired) leave the index.
    for (const key of members) if (!found.some((entry) => entry.messageId === key)) members.delete(key);
    if (members.size === 0) this.bulks.delete(bulkId);
    return found;
  }

  /** A scheduled message moved, paused or resumed: its overdue time counts from its new time (never while paused). */
  async reschedule(messageId: string, change: Pick<TrackedMessage, 'scheduledAt' | 'paused'>): Promise<void> {
    const entry = await this.read(messageId);
    if (entry === STORE_FAILED || entry === undefined) return;
    const changed = { ...entry, ...change };
    if (this.later.has(messageId) || this.pending.has(messageId)) {
      this.pending.delete(messageId);
      this.later.set(messageId, dueFrom(changed));
    }
    // Its 48 hours count from its (new) time.
    if (this.index.has(messageId)) {
      this.index.set(messageId, goesAt(changed), { ttl: remaining(goesAt(changed)) });
    }
    this.write(messageId, changed);
  }

  /**
   * What was sent as `key` (a message id, or a number for a tracker by number), as a copy, or
   * undefined (unknown, older than 48 h, or the store failed).
   */
  async lookup(key: string): Promise<TrackedMessage | undefined> {
    const entry = await this.read(key);
    if (entry === STORE_FAILED) return undefined;
    if (entry === undefined) this.index.delete(key);
    return entry && handedOut(entry);
  }

  /**
   * Notes that a report came for a message (v3 keeps it for later reports of the same message);
   * with `report`, a part's final report, kept in its entry where its siblings' reports find it.
   */
  async markReported(messageId: string, report?: unknown): Promise<void> {
    this.pending.delete(messageId);
    this.later.delete(messageId);
    const entry = await this.read(messageId);
    if (entry === STORE_FAILED || entry === undefined || (entry.reported && report === undefined)) return;
    this.write(messageId, report === undefined ? { ...entry, reported: true } : { ...entry, reported: true, report });
  }

  /** Notes that the message went a second time with its id (see TrackedMessage.resent). */
  async markResent(messageId: string): Promise<void> {
    await this.note(messageId, { resent: true });
  }

  /** Notes that a report other than REJECTED came for a resent message. */
  async markAcceptedReport(messageId: string): Promise<void> {
    await this.note(messageId, { acceptedReport: true });
  }

  private async note(messageId: string, fields: Pick<TrackedMessage, 'resent' | 'acceptedReport'>): Promise<void> {
    const entry = await this.read(messageId);
    if (entry === STORE_FAILED || entry === undefined) return;
    this.write(messageId, { ...entry, ...fields });
  }

  /** The entry as stored (undefined when unknown, or the store failed). */
  async entry(messageId: string): Promise<TrackedMessage | undefined> {
    const entry = await this.read(messageId);
    return entry === STORE_FAILED ? undefined : entry;
  }

  /**
   * Notes on a split message's first part that part `index` (of `count`) has its final report, and
   * returns how many parts have one; undefined when the first part is unknown or the store failed.
   * A first part that holds no such note yet (tracked before notes existed) learns it from its
   * parts' entries, once.
   */
  partsReported(first: string, index: number, count: number): Promise<number | undefined> {
    // One note at a time per message: two nodes assembling it at once (a push and a poll) lose none.
    const noting = (this.noting.get(first) ?? Promise.resolve(undefined))
      .catch(() => undefined)
      .then(() => this.notePart(first, index, count));
    this.noting.set(first, noting);
    noting.finally(() => this.noting.get(first) === noting && this.noting.delete(first)).catch(() => undefined);
    return noting;
  }

  private async notePart(first: string, index: number, count: number): Promise<number | undefined> {
    const entry = await this.read(first);
    if (entry === STORE_FAILED || entry === undefined) return undefined;
    let reported = entry.reportedParts;
    if (reported === undefined) {
      const parts = await Promise.all(partIdsOf(first, count).map((id) => this.entry(id)));
      reported = parts.flatMap((part, at) => (part?.report !== undefined ? [at + 1] : []));
    }
    if (!reported.includes(index)) reported = [...reported, index];
    this.write(first, { ...entry, reportedParts: reported });
    return reported.length;
  }

  /**
   * Records a split message's status as emitted, on its first part; false when that status was
   * already recorded (the whole message was emitted with it).
   */
  async setCombined(messageId: string, combined: string): Promise<boolean> {
    const entry = await this.read(messageId);
    if (entry === STORE_FAILED || entry === undefined) return true;
    if (entry.combined === combined) return false;
    this.write(messageId, { ...entry, combined });
    return true;
  }

  /** Forgets a message whose final report arrived; true when it was this instance's own (then `dropped` was told). */
  forget(messageId: string): boolean {
    this.pending.delete(messageId);
    this.later.delete(messageId);
    if (this.index.delete(messageId)) return true;
    this.write(messageId, undefined);
    return false;
  }

  /**
   * The tracked messages sent at or before `sentBefore` and neither reported nor reported overdue;
   * marks them. Touches only those (each once, unless the store fails), never the reported ones.
   */
  async takeOverdue(sentBefore: number): Promise<TrackedMessage[]> {
    this.dropExpired();
    const candidates: string[] = [];
    for (const [messageId, at] of this.pending) {
      if (at > sentBefore) break;
      candidates.push(messageId);
    }
    for (const [messageId, due] of this.later) if (due <= sentBefore) candidates.push(messageId);
    const due: TrackedMessage[] = [];
    for (const messageId of candidates) {
      const entry = await this.read(messageId);
      // A store that failed: asked again at the next check.
      if (entry === STORE_FAILED) continue;
      this.pending.delete(messageId);
      this.later.delete(messageId);
      if (entry === undefined) {
        this.index.delete(messageId);
      } else if (!entry.overdue && !entry.reported) {
        entry.overdue = true;
        this.write(messageId, entry);
        due.push(handedOut(entry));
      }
    }
    return due;
  }

  /** Drops the entries older than the report window, oldest first, from the index and the store. */
  private dropExpired(): void {
    const expired: string[] = [];
    for (const [key, at] of this.index.rentries() as Iterable<[string, number]>) {
      if (remaining(at) > 0) break;
      expired.push(key);
    }
    for (const key of expired) this.index.delete(key);
  }

  /** The entry in the store; undefined when absent or expired (then deleted there too). */
  private async read(key: string): Promise<TrackedMessage | undefined | typeof STORE_FAILED> {
    let value = await this.get(this.storeKey(key));
    // A number another instance tracked before 0.3.0, under its base64url key.
    if (value === undefined && !this.byId) value = await this.get(this.prefix + base64url(key));
    if (value === STORE_FAILED) return STORE_FAILED;
    if (!isTracked(value)) return undefined;
    if (remaining(goesAt(value)) <= 0) {
      this.write(key, undefined);
      return undefined;
    }
    return value;
  }

  /** A number's key is its digits; a message id may hold any character, so it is written in base64url. */
  private storeKey(key: string): string {
    return this.byId ? this.prefix + base64url(key) : this.prefix + key;
  }

  /** A value from the store, or STORE_FAILED; a store that throws fails like one that calls back with an error. */
  private get(storeKey: string): Promise<unknown> {
    return new Promise<unknown>((resolve) => {
      try {
        this.context.get(storeKey, this.store, (error, found) => resolve(error ? this.failed(error) : found));
      } catch (error) {
        resolve(this.failed(error as Error));
      }
    });
  }

  private write(key: string, value: TrackedMessage | undefined): void {
    try {
      this.context.set(this.storeKey(key), value && compact(value), this.store, (error) => {
        if (error) this.failed(error);
      });
    } catch (error) {
      this.failed(error as Error);
    }
  }

  private failed(error: Error): typeof STORE_FAILED {
    if (!this.storeFailureLogged) this.options.warn(error.message);
    this.storeFailureLogged = true;
    return STORE_FAILED;
  }

  private isOwn(entry: TrackedMessage): boolean {
    const { owner } = entry;
    return owner === undefined || owner === this.options.owner || !!this.options.formerOwners?.includes(owner);
  }

  /** Rebuilds the index from what this instance left in the store (a persistent store, after a restart). */
  private async load(): Promise<void> {
    const keys = await new Promise<string[]>((resolve) => {
      try {
        this.context.keys(this.store, (error, found) => {
          if (error) this.failed(error);
          resolve(error || !found ? [] : found);
        });
      } catch (error) {
        this.failed(error as Error);
        resolve([]);
      }
    });
    const entries: TrackedMessage[] = [];
    for (const key of keys) {
      if (!key.startsWith(this.prefix)) continue;
      const value = await this.get(key);
      // Another instance's entries stay its own (entries from before owners were recorded are taken).
      if (!isTracked(value) || !this.isOwn(value)) continue;
      // Tracked by number before 0.3.0, under its base64url key: moved to its digits.
      if (key !== this.storeKey(this.keyOf(value))) {
        this.context.set(key, undefined, this.store, () => undefined);
        if (!this.index.has(this.keyOf(value))) this.write(this.keyOf(value), value);
      }
      // A number tracked while loading has its newer entry in the store already: it is not touched.
      if (this.index.has(this.keyOf(value))) continue;
      if (remaining(goesAt(value)) > 0) entries.push(value);
      else this.write(this.keyOf(value), undefined);
    }
    const loaded = entries.filter((entry) => !this.index.has(this.keyOf(entry))).sort((a, b) => a.at - b.at);
    // Messages tracked while loading are the newest: the oldest loaded ones make room for them.
    const trackedMeanwhile = [...this.index.rentries()] as [string, number][];
    const room = Math.max(0, this.options.limit - trackedMeanwhile.length);
    const dropped = loaded.splice(0, Math.max(0, loaded.length - room));
    for (const entry of dropped) this.write(this.keyOf(entry), undefined);
    for (const entry of loaded) this.index.set(this.keyOf(entry), goesAt(entry), { ttl: remaining(goesAt(entry)) });
    for (const [key, at] of trackedMeanwhile) this.index.set(key, at, { ttl: remaining(at) });
    if (this.byId) {
      // Loaded entries are older than those tracked meanwhile: they come first.
      const meanwhile = [...this.pending];
      this.pending.clear();
      for (const entry of loaded) {
        if (entry.bulkId !== undefined)
          this.bulks.set(entry.bulkId, (this.bulks.get(entry.bulkId) ?? new Set()).add(entry.messageId));
        if (entry.overdue || entry.reported) continue;
        // A scheduled or paused message is due from its time, whatever order it was loaded in.
        if (entry.scheduledAt !== undefined || entry.paused) this.later.set(entry.messageId, dueFrom(entry));
        else this.pending.set(entry.messageId, entry.at);
      }
      for (const [key, at] of meanwhile) this.pending.set(key, at);
    }
  }
}

/** A copy of an entry to hand out, with what was sent as that destination's own. */
export function handedOut(entry: TrackedMessage): TrackedMessage {
  const sent = structuredClone(entry.sent);
  // A part's message is the whole one: its id is the first part's.
  const messageId = entry.part?.first ?? entry.messageId;
  if (entry.shared) {
    sent.to = entry.to;
    sent.messageId = messageId;
    if (entry.shared === 'ids') sent.messageIds = { [entry.to]: messageId };
  }
  if (entry.part) sent.partIds = partIdsOf(entry.part.first, entry.part.count);
  const { shared: _shared, report: _report, combined: _combined, ...copy } = entry;
  return { ...copy, sent };
}

/** How much of the report window is left for a message accepted at `at` (epoch ms). */
export function remaining(at: number): number {
  return INFOBIP_WINDOW_MS - (Date.now() - at);
}

export function isTracked(value: unknown): value is TrackedMessage {
  const entry = value as Partial<TrackedMessage> | null;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.messageId === 'string' &&
    typeof entry.at === 'number' &&
    typeof entry.sent === 'object'
  );
}

const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/**
 * The entry as a plain object built field by field: V8 makes a spread copy (`{ ...entry, owner }`)
 * a dictionary of several times the size, and the account may hold tens of thousands of entries
 * (one per number of a fan-out).
 */
function compact(entry: TrackedMessage): TrackedMessage {
  const kept: TrackedMessage = { messageId: entry.messageId, to: entry.to, sent: entry.sent, at: entry.at };
  if (entry.shared !== undefined) kept.shared = entry.shared;
  if (entry.owner !== undefined) kept.owner = entry.owner;
  if (entry.account !== undefined) kept.account = entry.account;
  if (entry.overdue !== undefined) kept.overdue = entry.overdue;
  if (entry.reported !== undefined) kept.reported = entry.reported;
  if (entry.part !== undefined) kept.part = entry.part;
  if (entry.report !== undefined) kept.report = entry.report;
  if (entry.reportedParts !== undefined) kept.reportedParts = entry.reportedParts;
  if (entry.combined !== undefined) kept.combined = entry.combined;
  if (entry.resent !== undefined) kept.resent = entry.resent;
  if (entry.acceptedReport !== undefined) kept.acceptedReport = entry.acceptedReport;
  if (entry.bulkId !== undefined) kept.bulkId = entry.bulkId;
  if (entry.scheduledAt !== undefined) kept.scheduledAt = entry.scheduledAt;
  if (entry.paused !== undefined) kept.paused = entry.paused;
  return kept;
}

/** What a report's msg.sent shows of an output message: its plain-JSON properties, without payload, parts, partEntries, req and res. */
export function sentOf(message: object): Record<string, unknown> {
  const { payload, parts, partEntries, req, res, ...kept } = message as Record<string, unknown>;
  return plainJson(kept) as Record<string, unknown>;
}

/** Keeps only plain JSON (strings, finite numbers, booleans, null, arrays and plain objects). */
export function plainJson(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (depth > 20 || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) return value.map((item) => plainJson(item, depth + 1) ?? null);
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const kept = plainJson(item, depth + 1);
    if (kept !== undefined) result[key] = kept;
  }
  return result;
}
