import fs from 'node:fs/promises';
import path from 'node:path';
import { type DailyAnswer, type DailyCounts, type DailyLimit, RollingDay } from '../daily';
import type { ContextLike } from '../track/tracker';

/** Where the account keeps its daily counts across deploys and restarts. */
export interface CountsStore {
  load(): Promise<DailyCounts>;
  save(counts: DailyCounts): Promise<void>;
}

const KEY = 'dailyLimit';
const isCounts = (value: unknown): value is DailyCounts =>
  Array.isArray(value) &&
  value.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((n) => Number.isFinite(n)));

/** The counts in the account node's context, in its Track store (when that store persists). */
export function contextCounts(context: Pick<ContextLike, 'get' | 'set'>, store: string | undefined): CountsStore {
  return {
    load: () =>
      new Promise((resolve) =>
        context.get(KEY, store, (error, value) => resolve(!error && isCounts(value) ? value : [])),
      ),
    save: (counts) => new Promise((resolve) => context.set(KEY, counts, store, () => resolve())),
  };
}

/** The counts in a file of their own (under Node-RED's user directory), written whole and renamed into place. */
export function fileCounts(file: string): CountsStore {
  return {
    async load() {
      try {
        const value: unknown = JSON.parse(await fs.readFile(file, 'utf8'));
        return isCounts(value) ? value : [];
      } catch {
        return [];
      }
    },
    async save(counts) {
      await fs.mkdir(path.dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      await fs.writeFile(temporary, JSON.stringify(counts));
      await fs.rename(temporary, file);
    },
  };
}

const inProcess = new Map<string, DailyCounts>();

/** The counts in this process only, under `key`: across deploys, not restarts (a runtime without a user directory). */
export function processCounts(key: string): CountsStore {
  return {
    load: () => Promise.resolve(inProcess.get(key) ?? []),
    save: (counts) => {
      inProcess.set(key, counts);
      return Promise.resolve();
    },
  };
}

/** How long after a change the counts are saved (and at close, at once). */
const SAVE_AFTER_MS = 1000;

/** This copy's daily limit, counted in memory and kept in `store`. */
export class LocalDaily implements DailyLimit {
  private day?: RollingDay;
  private readonly loaded: Promise<RollingDay>;
  private saveTimer?: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();
  /** Set once closed: nothing more is saved (the account's next node reads the file). */
  private closed = false;

  constructor(
    readonly limit: number,
    private readonly store: CountsStore,
    private readonly warn: (detail: string) => void,
    now: () => number = Date.now,
  ) {
    this.loaded = store
      .load()
      .catch(() => [] as DailyCounts)
      .then((counts) => (this.day = new RollingDay(limit, counts, now)));
  }

  async take(parts: number): Promise<DailyAnswer> {
    const answer = (await this.loaded).take(parts);
    if (answer.admitted) this.changed();
    return answer;
  }

  /** Counts parts the cluster admitted (Redis), so that this copy knows its own share if Redis goes away. */
  async record(parts: number): Promise<void> {
    (await this.loaded).record(parts);
    this.changed();
  }

  giveBack(minute: number, parts: number): void {
    this.day?.giveBack(minute, parts);
    this.changed();
  }

  used(): number {
    return this.day?.used() ?? 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.saveTimer);
    if (this.saveTimer) {
      this.saveTimer = undefined;
      await this.save();
    }
    await this.saving;
  }

  private changed(): void {
    if (this.saveTimer || this.closed) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.save();
    }, SAVE_AFTER_MS);
  }

  private save(): Promise<void> {
    const counts = this.day?.counts() ?? [];
    this.saving = this.saving
      .then(() => this.store.save(counts))
      .catch((error: unknown) => this.warn(error instanceof Error ? error.message : String(error)));
    return this.saving;
  }
}
