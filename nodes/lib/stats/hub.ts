import type { AccountPicture } from './stats';

/** The comms topic of the sidebar's pictures, and the admin path of the first one. */
export const STATS_TOPIC = 'infobip-binary-sms/accounts';
export const STATS_PATH = '/infobip-binary-sms/accounts';
/** Pictures go out at most this often, and only after something changed. */
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
 * The accounts of the deployed flows, each able to take its picture, and the publisher that
 * pushes the pictures to the editor: at most once a second, and nothing while nothing changes.
 */
export class StatsHub {
  private readonly accounts = new Map<string, HubEntry>();
  private timer?: NodeJS.Timeout;
  private lastPublished = -Infinity;

  constructor(
    private readonly publish: (pictures: AccountPicture[]) => void,
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

  /** Something changed: publish within a second (at once when the last publication is older). */
  changed(): void {
    if (this.timer) return;
    const delay = Math.max(0, this.lastPublished + PUBLISH_EVERY_MS - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastPublished = this.now();
      this.publish(this.pictures());
    }, delay);
    this.timer.unref?.();
  }
}
