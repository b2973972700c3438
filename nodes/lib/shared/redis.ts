import crypto from 'node:crypto';
import { Redis } from 'ioredis';

/** How long the first connection is waited for before the account starts on its own. */
const FIRST_CONNECT_MS = 3000;
/** A command Redis has not answered in this time fails (the account then goes on its own). */
const COMMAND_TIMEOUT_MS = 2000;
/** Reconnection attempts back off to this. */
const MAX_RECONNECT_MS = 5000;
/** Each copy says it is there this often; one not heard of for three times as long is gone. */
export const PRESENCE_MS = 5000;

/** Which copies share the account now, and which of them polls each endpoint (for the sidebar). */
export interface SharedView {
  copies: string[];
  polling: Partial<Record<'reports' | 'inbound', string>>;
}

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
  /** This copy, as the others see it (no spaces). */
  name?: string;
  /** Told when sharing stops (with the failure's name) and when it resumes. */
  changed(available: boolean, failure?: string): void;
  /** Told when the copies or the pollers changed. */
  viewChanged?(): void;
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
  /** This copy, as the others see it. */
  readonly name: string;
  /** The copies and pollers, as last seen. */
  view: SharedView = { copies: [], polling: {} };
  /** Whether the outage under way was told (once per outage). */
  private told = false;
  private closed = false;
  private readonly presence: NodeJS.Timeout;

  constructor(private readonly options: SharedStateOptions) {
    this.prefix = options.prefix;
    this.name = options.name ?? crypto.randomUUID().slice(0, 8);
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
      if (this.told) this.options.changed(true);
      this.told = false;
      void this.refresh();
    });
    this.presence = setInterval(() => void this.refresh(), PRESENCE_MS);
    this.presence.unref();
    this.client.on('error', (error: unknown) => this.down(failureName(error)));
    this.client.on('close', () => this.down('ECONNCLOSED'));
  }

  /** Whether commands can reach Redis now. */
  get available(): boolean {
    return this.client.status === 'ready';
  }

  key(...parts: string[]): string {
    return this.prefix + parts.join(':');
  }

  /** A failed command: the connection may be gone (ioredis says so by its events); said once per outage. */
  failed(error: unknown): void {
    if (this.client.status !== 'ready') this.down(failureName(error));
  }

  /** Says this copy is there, and reads which copies are and which polls. */
  async refresh(): Promise<void> {
    if (!this.available) return;
    const copies = this.key('copies');
    const now = Date.now();
    try {
      const answers = (await this.client
        .multi()
        .zadd(copies, now, this.name)
        .zremrangebyscore(copies, '-inf', String(now - 3 * PRESENCE_MS))
        .zrange(copies, '0', '-1')
        .get(`mutex:${this.key('poller', 'reports')}`)
        .get(`mutex:${this.key('poller', 'inbound')}`)
        .exec()) as [unknown, unknown][];
      const holder = (answer: unknown) => (typeof answer === 'string' ? answer.split(' ')[0] : undefined);
      const polling: SharedView['polling'] = {};
      const [reports, inbound] = [holder(answers[3][1]), holder(answers[4][1])];
      if (reports) polling.reports = reports;
      if (inbound) polling.inbound = inbound;
      const view = { copies: (answers[2][1] as string[]).sort(), polling };
      if (JSON.stringify(view) !== JSON.stringify(this.view)) {
        this.view = view;
        this.options.viewChanged?.();
      }
    } catch (error) {
      this.failed(error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.presence);
    if (this.available) await this.client.zrem(this.key('copies'), this.name).catch(() => undefined);
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private down(failure: string): void {
    if (this.closed || this.told) return;
    this.told = true;
    this.options.changed(false, failure);
  }
}
