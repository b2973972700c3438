import type { AccountPicture } from './stats';

/** The comms topic of the sidebar's pictures, and the admin path of the first one. */
export const STATS_TOPIC = 'infobip-binary-sms/accounts';
export const STATS_PATH = '/infobip-binary-sms/accounts';
/** Pictures go out at most this often, and only after something changed. */
export const PUBLISH_EVERY_MS = 1000;

/**
 * The accounts of the deployed flows, each able to take its picture, and the publisher that
 * pushes the pictures to the editor: at most once a second, and nothing while nothing changes.
 */
export class StatsHub {
  private readonly accounts = new Map<string, () => AccountPicture>();
  private timer?: NodeJS.Timeout;
  private lastPublished = -Infinity;

  constructor(
    private readonly publish: (pictures: AccountPicture[]) => void,
    private readonly now: () => number = Date.now,
  ) {}

  add(id: string, picture: () => AccountPicture): void {
    this.accounts.set(id, picture);
    this.changed();
  }

  remove(id: string): void {
    if (this.accounts.delete(id)) this.changed();
  }

  pictures(): AccountPicture[] {
    return [...this.accounts.values()].map((picture) => picture());
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
