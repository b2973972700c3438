import type { AccountPicture, AccountsAnswer } from './stats';

/**
 * The comms topic that tells the editor the accounts changed, and the admin path of their
 * pictures. Comms reaches every editor user with status.read, so it carries only that signal;
 * the pictures come from the admin path, which needs the permission infobip-binary-sms.read.
 */
export const STATS_TOPIC = 'infobip-binary-sms/accounts';
export const STATS_PATH = '/infobip-binary-sms/accounts';
/** What a push on STATS_TOPIC says: something changed, nothing more. */
export const CHANGED = { changed: true } as const;
/** The signal goes out at most this often, and only after something changed. */
export const PUBLISH_EVERY_MS = 1000;

/**
 * An account's place in the hub, as add() hands it out. A redeployed account's new node registers
 * under the same id while its old node may still be closing: remove() takes away only its own entry.
 */
export interface HubEntry {
  readonly id: string;
  readonly picture: () => AccountPicture;
}

/**
 * The accounts of the deployed flows, each able to take its picture, and the publisher that tells
 * the editor they changed: at most once a second, and nothing while nothing changes.
 */
export class StatsHub {
  private readonly accounts = new Map<string, HubEntry>();
  private timer?: NodeJS.Timeout;
  private lastPublished = -Infinity;
  private lastStamp = -Infinity;

  constructor(
    /** Tells the editor that something changed (it then fetches the pictures). */
    private readonly publish: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  add(id: string, picture: () => AccountPicture): HubEntry {
    const entry: HubEntry = { id, picture };
    this.accounts.set(id, entry);
    this.changed();
    return entry;
  }

  /** Removes the entry add() gave, unless a newer node of the same account has taken its place. */
  remove(entry: HubEntry): void {
    if (this.accounts.get(entry.id) !== entry) return;
    this.accounts.delete(entry.id);
    this.changed();
  }

  pictures(): AccountPicture[] {
    return [...this.accounts.values()].map((entry) => entry.picture());
  }

  /**
   * The admin endpoint's answer. Its stamp is the clock, or one more than the last stamp: answers
   * that overlap (the editor's first fetch and one after a signal) are told apart by it, and a
   * restarted runtime's answers are later than its predecessor's.
   */
  answer(): AccountsAnswer {
    this.lastStamp = Math.max(this.lastStamp + 1, this.now());
    return { stamp: this.lastStamp, accounts: this.pictures() };
  }

  /** Something changed: publish within a second (at once when the last publication is older). */
  changed(): void {
    if (this.timer) return;
    const delay = Math.max(0, this.lastPublished + PUBLISH_EVERY_MS - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastPublished = this.now();
      this.publish();
    }, delay);
    this.timer.unref?.();
  }
}
