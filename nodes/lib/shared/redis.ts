import crypto from 'node:crypto';
import { Redis } from 'ioredis';

/** How long the first connection is waited for before the account starts on its own. */
const FIRST_CONNECT_MS = 3000;
/** A command Redis has not answered in this time fails (the account then goes on its own). */
const COMMAND_TIMEOUT_MS = 2000;
/** Reconnection attempts back off to this. */
const MAX_RECONNECT_MS = 5000;

/** A Redis URL the account can use: redis:// or rediss://. */
export const redisUrlValid = (url: string): boolean => {
  try {
    return ['redis:', 'rediss:'].includes(new URL(url).protocol);
  } catch {
    return false;
  }
};

/**
 * The keys of one Infobip account in a Redis that may serve many: named by a hash of the base
 * URL and the key's or user's identity, never by either, so that the copies of one account
 * find each other without a setting of their own.
 */
export function accountPrefix(baseUrl: string, identity: string): string {
  const hash = crypto.createHash('sha256').update(`${baseUrl}\n${identity}`).digest('base64url').slice(0, 22);
  return `infobip-binary-sms:${hash}:`;
}

/** What a Redis failure is called in a warning: its code, never its text (which may name the host). */
export function failureName(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && code) return code;
  return /^[A-Z][A-Z_]+/.exec(typeof message === 'string' ? message : '')?.[0] ?? 'error';
}

export interface SharedStateOptions {
  url: string;
  prefix: string;
  /** Told when sharing stops (with the failure's name) and when it resumes. */
  changed(available: boolean, failure?: string): void;
}

/**
 * The account's connection to the Redis its copies share. Commands fail at once while it is
 * down (nothing queues behind an outage): each user of it falls back to its own memory and
 * limits, and shares again once the connection is back.
 */
export class SharedState {
  readonly client: Redis;
  readonly prefix: string;
  /** Settles once the first connection succeeded, failed, or took too long. */
  readonly connected: Promise<void>;
  private up = false;
  /** Whether the outage under way was told (once per outage). */
  private told = false;
  private closed = false;

  constructor(private readonly options: SharedStateOptions) {
    this.prefix = options.prefix;
    this.client = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: FIRST_CONNECT_MS,
      retryStrategy: (attempt) => (this.closed ? null : Math.min(200 * attempt, MAX_RECONNECT_MS)),
      // The URL is the account's secret: the client's own names never carry it.
      connectionName: 'infobip-binary-sms',
      lazyConnect: false,
    });
    this.connected = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FIRST_CONNECT_MS);
      const settle = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', settle);
      this.client.once('error', settle);
    });
    this.client.on('ready', () => {
      this.up = true;
      if (this.told) this.options.changed(true);
      this.told = false;
    });
    this.client.on('error', (error: unknown) => this.down(failureName(error)));
    this.client.on('close', () => this.down('ECONNCLOSED'));
  }

  /** Whether commands can reach Redis now. */
  get available(): boolean {
    return this.up && this.client.status === 'ready';
  }

  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /** A failed command: the connection may be gone (ioredis says so by its events); said once per outage. */
  failed(error: unknown): void {
    if (this.client.status !== 'ready') this.down(failureName(error));
  }

  async close(): Promise<void> {
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private down(failure: string): void {
    this.up = false;
    if (this.closed || this.told) return;
    this.told = true;
    this.options.changed(false, failure);
  }
}
