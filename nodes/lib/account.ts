import type { Node, NodeDef } from 'node-red';
import { type ClientOptions, InfobipClient } from './http/client';
import type { DeliveryReport, InboundSms } from './http/infobip';
import { SmsError } from './errors';
import { Job, JobHandle, JobHooks, JobListener } from './send/job';
import { CLOSE_GRACE_MS } from './limits';
import { Pipeline, PipelineOptions } from './send/pipeline';
import { type SendRequest, referenceCounter } from './send/request';
import { ACCOUNT_NUMBERS, APIS, AccountNumber, Api, normaliseBaseUrl, parseAccountNumber } from './rules';
import type { Memories } from './track/policy';
import type { TrackBy, Tracking } from './track/tracker';
import { NO_STATS, type StatsSink } from './stats/stats';
import { SEEN_LIMIT } from './receive/reports';
import { PollLease, type PollTurn } from './shared/lease';
import { type SharedState, redisUrlValid } from './shared/redis';
import { type Sightings, sharedSightings } from './shared/seen';
import { sharedReferences } from './shared/references';

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
}

export interface AccountCredentials {
  apiKey?: string;
  username?: string;
  password?: string;
  /** Shared state of several Node-RED copies: redis://[user:password@]host:port[/db] or rediss://. */
  redisUrl?: string;
}

/** The config node as other nodes find it: its account. */
export interface AccountNode extends Node<AccountCredentials> {
  account: Account;
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
  /** The Redis the account's copies share; undefined: this copy keeps its own state. */
  redisUrl?: string;
  /** Each problem of the settings; with any, the account refuses to send. */
  problems: AccountProblem[];
}

/** Reads an account's settings as the editor saved them; a bad value is named and its default used. */
export function readAccountConfig(config: AccountConfig, credentials: AccountCredentials): AccountSettings {
  const problems: AccountProblem[] = [];
  const api = config.api === undefined || config.api === '' ? 'v1' : (config.api as Api);
  if (!APIS.includes(api))
    problems.push({ field: 'api', error: new SmsError('accountApi', { value: String(config.api) }) });
  const baseUrl = normaliseBaseUrl(config.baseUrl ?? '');
  const authType = config.authType === 'basic' ? 'basic' : 'apiKey';
  if (!baseUrl)
    problems.push({ field: 'baseUrl', error: new SmsError('accountBaseUrl', { value: config.baseUrl ?? '' }) });
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
    redisUrl,
    problems,
  };
}

export interface AccountParts {
  /** What the account's nodes count for the editor's sidebar. */
  stats?: StatsSink;
  client: InfobipClient;
  pipeline: Pipeline;
  /** With it, every send and poll fails with it. */
  configError?: SmsError;
  /** The context store of the account's tracking (its Track store); undefined for the default. */
  trackStore?: string;
  /** Makes a tracker when a node first asks for one: by message id for reports, by number for replies. */
  makeTracker: (by: TrackBy) => Tracking;
  /** The Redis shared with the account's other copies, when set. */
  shared?: SharedState;
}

/**
 * One Infobip account as its nodes use it: the send pipeline, report and inbound polls beside it,
 * and the memory of sent messages while report nodes (by id) or inbound nodes (by number) need
 * it. Closing lets sends and polls in flight finish within the grace period (a polled page is
 * gone from Infobip once answered), and starts no new ones.
 */
export class Account implements Memories {
  readonly configError?: SmsError;
  readonly trackStore?: string;
  /** The API the account sends through. */
  readonly api: Api;
  /** Present while a report node uses the account: remembers accepted messages by id. */
  byId?: Tracking;
  /** Present while an inbound node uses the account: remembers the last message sent to each number. */
  byNumber?: Tracking;
  /** The Redis shared with the account's other copies, when set. */
  readonly shared?: SharedState;
  private readonly client: InfobipClient;
  private readonly pipeline: Pipeline;
  private readonly makeTracker: (by: TrackBy) => Tracking;
  private readonly polls = new Set<Promise<unknown>>();
  /** The nodes using each kind of tracking. */
  private readonly users = { messageId: new Set<string>(), number: new Set<string>() };
  /** Of those, the nodes closing for a restart, until the flows have started again. */
  private readonly leaving = { messageId: new Set<string>(), number: new Set<string>() };
  /** Report URLs for Infobip to push to, by the report node that offers it (v3). */
  private readonly reportUrls = new Map<string, string>();
  private closed = false;
  private readonly sharingListeners = new Set<() => void>();
  /** The poll leases of the account's nodes: handed back before Redis is let go. */
  private readonly leases = new Set<PollLease>();
  /** Concatenation references of the account's split payloads, from a random start (one counter for its copies). */
  readonly nextReference: () => number;
  /** What the account's nodes count for the editor's sidebar. */
  readonly stats: StatsSink;

  constructor(parts: AccountParts) {
    this.client = parts.client;
    this.pipeline = parts.pipeline;
    this.configError = parts.configError;
    this.trackStore = parts.trackStore;
    this.api = parts.client.api;
    this.makeTracker = parts.makeTracker;
    this.stats = parts.stats ?? NO_STATS;
    this.shared = parts.shared;
    this.nextReference = parts.shared ? sharedReferences(parts.shared, referenceCounter()) : referenceCounter();
  }

  /** Whether Redis is set but out of reach: this copy goes on with its own limits and memory. */
  get sharedUnavailable(): boolean {
    return !!this.shared && !this.shared.available;
  }

  /** Tells `listener` whenever sharing stops or resumes; returns the function that stops telling. */
  onSharingChanged(listener: () => void): () => void {
    this.sharingListeners.add(listener);
    return () => this.sharingListeners.delete(listener);
  }

  sharingChanged(): void {
    for (const listener of this.sharingListeners) listener();
  }

  /** First sightings of reports or inbound SMS, for the cluster when copies share state; else a node's own. */
  sightings(kind: 'reports' | 'inbound'): Sightings | undefined {
    return this.shared && sharedSightings(this.shared, kind, SEEN_LIMIT);
  }

  /** When copies share state, the turn to poll one of Infobip's pull endpoints; else undefined (this copy polls). */
  pollTurn(endpoint: 'reports' | 'inbound'): PollTurn | undefined {
    if (!this.shared) return undefined;
    const lease = new PollLease(this.shared, endpoint);
    this.leases.add(lease);
    // A node that stops hands its lease back and leaves the account's list (redeploys add new ones).
    return {
      mine: () => lease.mine(),
      release: () => {
        this.leases.delete(lease);
        return lease.release();
      },
    };
  }

  submit(request: SendRequest, hooks: JobHooks, listener: JobListener): JobHandle {
    if (!this.configError) return this.pipeline.submit(request, hooks, listener);
    const refused = new Job(request, hooks, listener);
    refused.end(this.configError);
    return refused;
  }

  /** Ends a node's jobs on its close: waiting ones with "closed", those in flight within the grace period. */
  closeJobs(jobs: Iterable<JobHandle>): Promise<void> {
    return this.pipeline.closeJobs(jobs, CLOSE_GRACE_MS);
  }

  /** One page of delivery reports, on its own connection (never queued behind sends). */
  fetchReports(limit: number, controller?: AbortController): Promise<DeliveryReport[]> {
    return this.poll(() => this.client.fetchReports(limit, controller));
  }

  /** One page of inbound SMS, on its own connection. */
  fetchInbound(limit: number, controller?: AbortController): Promise<InboundSms[]> {
    return this.poll(() => this.client.fetchInbound(limit, controller));
  }

  /** A poll that closing waits for: what it fetched is gone from Infobip and must reach the flow. */
  private poll<T>(fetch: () => Promise<T>): Promise<T> {
    if (this.configError) return Promise.reject(this.configError);
    if (this.closed) return Promise.reject(new SmsError('closed'));
    const poll = fetch();
    const tracked = poll.catch(() => undefined).finally(() => this.polls.delete(tracked));
    this.polls.add(tracked);
    return poll;
  }

  /** A report node (by message id) or an inbound node (by number) starts using tracking; made on first use. */
  useTracking(nodeId: string, by: TrackBy = 'messageId'): Tracking {
    this.users[by].add(nodeId);
    this.leaving[by].delete(nodeId);
    if (by === 'number') return (this.byNumber ??= this.makeTracker(by));
    return (this.byId ??= this.makeTracker(by));
  }

  /**
   * The URL at which a report node receives pushed reports, token included; every v3 message sent
   * through the account asks Infobip to push its reports there. The token is masked in whatever
   * Infobip sends back.
   */
  offerReportUrl(reportNodeId: string, url: string, token: string): void {
    this.reportUrls.set(reportNodeId, url);
    this.client.addSecret(token);
    this.client.addSecret(encodeURIComponent(token));
  }

  withdrawReportUrl(reportNodeId: string): void {
    this.reportUrls.delete(reportNodeId);
  }

  /** Where v3 messages ask for their reports to be pushed, if a report node offers a URL. */
  get reportUrl(): string | undefined {
    return this.reportUrls.values().next().value;
  }

  /**
   * Tracking exists only while a node uses it: senders without report or inbound nodes pay nothing.
   * A node that is only restarted (redeployed, not removed) keeps it until the flows have started
   * again, so that what is sent while it closes and restarts is still tracked; it hands over to its
   * new self, which asks for tracking under the same id.
   */
  releaseTracking(nodeId: string, by: TrackBy = 'messageId', removed = true): void {
    if (!removed) {
      this.leaving[by].add(nodeId);
      return;
    }
    this.users[by].delete(nodeId);
    this.leaving[by].delete(nodeId);
    if (this.users[by].size > 0) return;
    if (by === 'number') this.byNumber = undefined;
    else this.byId = undefined;
  }

  /** The flows have started: nodes that closed for a restart and did not come back release their tracking. */
  flowsStarted(): void {
    for (const by of ['messageId', 'number'] as const) {
      for (const nodeId of [...this.leaving[by]]) this.releaseTracking(nodeId, by);
    }
  }

  async close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.closed = true;
    let grace: NodeJS.Timeout | undefined;
    const pollsDone = Promise.race([
      Promise.all(this.polls),
      new Promise((resolve) => (grace = setTimeout(resolve, graceMs))),
    ]);
    await Promise.all([this.pipeline.close(graceMs), pollsDone]);
    clearTimeout(grace);
    this.client.close();
    await Promise.all([...this.leases].map((lease) => lease.release()));
    await this.shared?.close();
  }
}
