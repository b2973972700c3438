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
  /** When Infobip accepted it (ms since epoch). */
  at: number;
  /** Set once it was reported overdue. */
  overdue?: boolean;
}

export const TRACK_WINDOW_MS = 48 * 3600 * 1000;
const KEY_PREFIX = 'sms_';

const keyOf = (messageId: string) => KEY_PREFIX + Buffer.from(messageId, 'utf8').toString('base64url');

/**
 * The account's memory of accepted messages, kept in a Node-RED context store so that a
 * persistent store survives a restart and a shared one serves several instances. This
 * instance's own index (messageId → time sent) orders the entries for the limit and the
 * overdue check; lookups go to the store, so they also find what other instances sent.
 */
export class Tracker {
  private readonly index = new Map<string, number>();
  readonly ready: Promise<void>;

  constructor(
    private readonly context: ContextLike,
    private readonly store: string | undefined,
    readonly limit: number,
    private readonly windowMs = TRACK_WINDOW_MS,
  ) {
    this.ready = this.load();
  }

  get size(): number {
    return this.index.size;
  }

  track(entry: TrackedMessage): void {
    this.index.delete(entry.messageId);
    this.index.set(entry.messageId, entry.at);
    this.write(entry.messageId, entry);
    this.prune(Date.now());
  }

  async lookup(messageId: string): Promise<TrackedMessage | undefined> {
    const value = await new Promise<unknown>((resolve) =>
      this.context.get(keyOf(messageId), this.store, (error, found) => resolve(error ? undefined : found)),
    );
    return isTracked(value) && Date.now() - value.at <= this.windowMs ? value : undefined;
  }

  /** Forgets a message whose final report arrived. */
  forget(messageId: string): void {
    this.index.delete(messageId);
    this.write(messageId, undefined);
  }

  /** The tracked messages sent at or before `sentBefore` and not yet reported overdue; marks them. */
  async takeOverdue(sentBefore: number): Promise<TrackedMessage[]> {
    const due: TrackedMessage[] = [];
    for (const [messageId, at] of this.index) {
      if (at > sentBefore) break;
      const entry = await this.lookup(messageId);
      if (!entry) {
        this.index.delete(messageId);
      } else if (!entry.overdue) {
        entry.overdue = true;
        this.write(messageId, entry);
        due.push(entry);
      }
    }
    return due;
  }

  /** Drops the oldest entries beyond the limit, and those older than the window. */
  private prune(now: number): void {
    for (const [messageId, at] of this.index) {
      if (this.index.size <= this.limit && now - at <= this.windowMs) break;
      this.forget(messageId);
    }
  }

  private write(messageId: string, value: TrackedMessage | undefined): void {
    this.context.set(keyOf(messageId), value, this.store, () => undefined);
  }

  /** Rebuilds the index from what the store kept (a persistent store, after a restart). */
  private async load(): Promise<void> {
    const keys = await new Promise<string[]>((resolve) =>
      this.context.keys(this.store, (error, found) => resolve(error || !found ? [] : found)),
    );
    const entries: TrackedMessage[] = [];
    for (const key of keys) {
      if (!key.startsWith(KEY_PREFIX)) continue;
      const value = await new Promise<unknown>((resolve) =>
        this.context.get(key, this.store, (error, found) => resolve(error ? undefined : found)),
      );
      if (isTracked(value)) entries.push(value);
    }
    entries.sort((a, b) => a.at - b.at);
    // Messages tracked while loading are the newest: they go behind the loaded ones.
    const trackedMeanwhile = [...this.index];
    this.index.clear();
    for (const entry of entries) this.index.set(entry.messageId, entry.at);
    for (const [messageId, at] of trackedMeanwhile) {
      this.index.delete(messageId);
      this.index.set(messageId, at);
    }
    this.prune(Date.now());
  }
}

function isTracked(value: unknown): value is TrackedMessage {
  const entry = value as Partial<TrackedMessage> | null;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.messageId === 'string' &&
    typeof entry.at === 'number' &&
    typeof entry.sent === 'object'
  );
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
