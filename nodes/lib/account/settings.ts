import type { NodeDef } from 'node-red';
import type { ClientOptions } from '../http/client';
import { SmsError } from '../errors';
import type { PipelineOptions } from '../send/pipeline';
import { ACCOUNT_NUMBERS, APIS, AccountNumber, Api, parseAccountNumber, parseBaseUrl } from '../rules';
import { redisUrlValid } from '../shared/redis';

export interface AccountConfig extends NodeDef {
  /** Infobip's API; absent on accounts saved before it existed, which keep v1. */
  api?: string;
  baseUrl: string;
  authType: 'apiKey' | 'basic';
  concurrency?: string | number;
  rateLimit?: string | number;
  queueLimit?: string | number;
  timeout?: string | number;
  retries?: string | number;
  throttleWait?: string | number;
  trackLimit?: string | number;
  batchSize?: string | number;
  /** Node-RED context store for tracking; empty = the default store. */
  trackStore?: string;
  /** Seconds (v3); saved without it: 0, no lookups, as before it existed. */
  resolveUnknown?: string | number;
  /** Infobip enabled idempotent sending for the account (v3): what the logs never showed is sent once more. */
  idempotent?: boolean | string;
  /** SMS parts in any 24 hours; empty or 0: no limit. */
  dailyLimit?: string | number;
}

export interface AccountCredentials {
  apiKey?: string;
  username?: string;
  password?: string;
  /** Shared state of several Node-RED copies: redis://[user:password@]host:port[/db] or rediss://. */
  redisUrl?: string;
}

export const ACCOUNT_DEFAULTS = {
  concurrency: 8,
  rateLimit: 0,
  queueLimit: 0,
  timeout: 30,
  retries: 3,
  throttleWait: 600,
  trackLimit: 10000,
  batchSize: 100,
  resolveUnknown: 0,
  dailyLimit: 0,
};

/** A setting of the account that cannot be used, named by its field. */
export interface AccountProblem {
  field: AccountNumber | 'api' | 'baseUrl' | 'apiKey' | 'password' | 'redisUrl';
  error: SmsError;
}

export interface AccountSettings {
  client: ClientOptions;
  pipeline: Omit<PipelineOptions, 'queueLimit'> & { queueLimit?: number };
  trackLimit: number;
  trackStore?: string;
  /** How a v3 message whose answer was lost gets a definite outcome (absent: it ends "delivery unknown" at once). */
  resolution?: { windowMs: number; idempotent: boolean };
  /** SMS parts the account may send in any 24 hours; 0: no limit. */
  dailyLimit: number;
  /** The Redis the account's copies share; undefined: this copy keeps its own state. */
  redisUrl?: string;
  /** Each problem of the settings; with any, the account refuses to send. */
  problems: AccountProblem[];
}

/**
 * Whether the context store `store` (the default when empty) keeps what it holds across restarts:
 * settings.js `contextStorage` names it, and its module is not `memory`.
 */
export function storePersists(contextStorage: unknown, store?: string): boolean {
  const stores = (contextStorage ?? {}) as Record<string, unknown>;
  let name = store ?? 'default';
  // `default` may name another store instead of configuring one.
  if (typeof stores[name] === 'string') name = stores[name] as string;
  const module = (stores[name] as { module?: unknown } | undefined)?.module;
  return module !== undefined && module !== 'memory';
}

/** Reads an account's settings as the editor saved them; a bad value is named and its default used. */
export function readAccountConfig(config: AccountConfig, credentials: AccountCredentials): AccountSettings {
  const problems: AccountProblem[] = [];
  const api = config.api === undefined || config.api === '' ? 'v1' : (config.api as Api);
  if (!APIS.includes(api))
    problems.push({ field: 'api', error: new SmsError('accountApi', { value: String(config.api) }) });
  const checkedUrl = parseBaseUrl(config.baseUrl ?? '');
  const baseUrl = checkedUrl.ok ? checkedUrl.value : undefined;
  const authType = config.authType === 'basic' ? 'basic' : 'apiKey';
  // A URL with a password in it is never shown back.
  if (!checkedUrl.ok)
    problems.push({
      field: 'baseUrl',
      error:
        checkedUrl.problem === 'credentials'
          ? new SmsError('accountBaseUrlCredentials')
          : new SmsError('accountBaseUrl', { value: config.baseUrl ?? '' }),
    });
  if (authType === 'apiKey' && !credentials.apiKey) {
    problems.push({ field: 'apiKey', error: new SmsError('accountNoApiKey') });
  }
  if (authType === 'basic' && !(credentials.username && credentials.password)) {
    problems.push({ field: 'password', error: new SmsError('accountNoPassword') });
  }
  const number = (field: AccountNumber): number => {
    const parsed = parseAccountNumber(field, config[field]);
    if (parsed.ok) return parsed.value ?? ACCOUNT_DEFAULTS[field];
    const { min, max } = ACCOUNT_NUMBERS[field];
    problems.push({ field, error: new SmsError('accountNumber', { name: field, value: parsed.value, min, max }) });
    return ACCOUNT_DEFAULTS[field];
  };
  const redisUrl = credentials.redisUrl?.trim() || undefined;
  // The URL may hold a password: the error never shows it.
  if (redisUrl && !redisUrlValid(redisUrl))
    problems.push({ field: 'redisUrl', error: new SmsError('accountRedisUrl') });
  const concurrency = number('concurrency');
  const throttleWaitMs = number('throttleWait') * 1000;
  // Only v3 messages carry ids of the node's own, which the logs are searched by.
  const resolveUnknown = number('resolveUnknown');
  const resolution =
    api === 'v3' && resolveUnknown > 0
      ? { windowMs: resolveUnknown * 1000, idempotent: config.idempotent === true || config.idempotent === 'true' }
      : undefined;
  return {
    client: {
      ...credentials,
      api: APIS.includes(api) ? api : 'v1',
      authType,
      baseUrl: baseUrl ?? 'http://invalid',
      timeoutMs: number('timeout') * 1000,
      maxSockets: concurrency,
      maxPollWaitMs: throttleWaitMs,
    },
    pipeline: {
      concurrency,
      ratePerSecond: number('rateLimit'),
      // 0 or empty: Node-RED's nodeMessageBufferMaxLength decides (see the account node).
      queueLimit: number('queueLimit') || undefined,
      retries: number('retries'),
      throttleWaitMs,
      // v1's endpoint takes one message per request.
      batchSize: api === 'v3' ? number('batchSize') : 1,
    },
    trackLimit: number('trackLimit'),
    trackStore: config.trackStore?.trim() || undefined,
    resolution,
    dailyLimit: number('dailyLimit'),
    redisUrl,
    problems,
  };
}
