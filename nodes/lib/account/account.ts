import type { Node } from 'node-red';
import type { InfobipClient } from '../http/client';
import type { DeliveryReport, InboundSms } from '../http/infobip';
import { SmsError } from '../errors';
import { Job, JobHandle, JobHooks, JobListener } from '../send/job';
import { CLOSE_GRACE_MS } from '../limits';
import type { Pipeline } from '../send/pipeline';
import type { Resolver } from '../send/resolver';
import type { BulkControl, SendRequest } from '../send/request';
import type { BulkAnswer } from '../http/client';
import type { Api } from '../rules';
import type { Memories } from '../track/policy';
import type { TrackBy, Tracking } from '../track/tracker';
import { NO_STATS, type StatsSink } from '../stats/stats';
import { SEEN_LIMIT } from '../receive/reports';
import { PollLease, type PollTurn } from '../shared/lease';
import type { SharedState } from '../shared/redis';
import { type Sightings, sharedSightings } from '../shared/seen';
import type { AccountCredentials } from './settings';
import type { DailyAnswer, DailyLimit } from '../daily';
import type { AccountView, ProcessAccount, ReceivedKind } from './process-account';

/** The config node as other nodes find it: its account. */
export interface AccountNode extends Node<AccountCredentials> {
  account: Account;
}

export interface AccountParts {
  /** The account node's id. */
  id: string;
  /** Every account node in this Node-RED with the same base URL and credentials shares it. */
  process: ProcessAccount;
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
  /** How a v3 message whose answer was lost gets a definite outcome; absent: it ends "delivery unknown". */
  resolution?: Resolution;
  /** SMS parts in any 24 hours, when the account sets a limit. */
  daily?: DailyLimit;
  /** Told once each time the daily limit starts to refuse messages (until one is admitted again). */
  limitReached?: (answer: DailyAnswer) => void;
}

/** Lost answers looked up in Infobip's logs for `windowMs`; with `idempotent`, what they never showed is sent once more. */
export interface Resolution {
  windowMs: number;
  /** The account's Timeout: a resend starts within the window and twice this after the first send, or never. */
  timeoutMs: number;
  idempotent: boolean;
  resolver: Resolver;
}

/**
 * One account node (config node) as its nodes use it: its settings' send pipeline and client, its
 * report and inbound polls beside them, and its memory of sent messages while a report node (by
 * id) or an inbound node (by number) of the Infobip account needs it. What must be one per Infobip
 * account — which node polls, where what is received goes, the request budget, the references —
 * belongs to the process-wide account that every account node with the same base URL and
 * credentials shares. Closing lets sends and polls in flight finish within the grace period (a
 * polled page is gone from Infobip once answered), and starts no new ones.
 */
export class Account implements Memories, AccountView {
  readonly id: string;
  readonly configError?: SmsError;
  readonly trackStore?: string;
  /** The API the account sends through. */
  readonly api: Api;
  /** The Redis shared with the account's other copies, when set. */
  readonly shared?: SharedState;
  private readonly process: ProcessAccount;
  private readonly client: InfobipClient;
  private readonly pipeline: Pipeline;
  private readonly makeTracker: (by: TrackBy) => Tracking;
  private readonly trackers: { messageId?: Tracking; number?: Tracking } = {};
  private readonly polls = new Set<Promise<unknown>>();
  private readonly leave: () => void;
  private closed = false;
  private readonly sharingListeners = new Set<() => void>();
  /** The poll leases of the account's nodes: handed back before Redis is let go. */
  private readonly leases = new Set<PollLease>();
  /** Concatenation references of the account's split payloads (one counter for its copies and its account nodes). */
  readonly nextReference: () => number;
  /** What the account's nodes count for the editor's sidebar. */
  readonly stats: StatsSink;
  /** How a v3 message whose answer was lost gets a definite outcome; absent: it ends "delivery unknown". */
  readonly resolution?: Resolution;
  /** SMS parts in any 24 hours, when the account sets a limit. */
  readonly daily?: DailyLimit;
  private readonly limitReached?: (answer: DailyAnswer) => void;
  /** Whether the daily limit refused the last message it was asked about. */
  private limitHolding = false;

  constructor(parts: AccountParts) {
    this.id = parts.id;
    this.process = parts.process;
    this.client = parts.client;
    this.pipeline = parts.pipeline;
    this.configError = parts.configError;
    this.trackStore = parts.trackStore;
    this.api = parts.client.api;
    this.makeTracker = parts.makeTracker;
    this.stats = parts.stats ?? NO_STATS;
    this.shared = parts.shared;
    this.resolution = parts.resolution;
    this.daily = parts.daily;
    this.limitReached = parts.limitReached;
    this.nextReference = parts.process.references(this, parts.shared);
    this.leave = parts.process.join(this);
  }

  /** Remembers accepted messages by id while a report node of the Infobip account needs it. */
  get byId(): Tracking | undefined {
    return this.ownTracking('messageId');
  }

  /** Remembers the last message sent to each number while an inbound node of the Infobip account needs it. */
  get byNumber(): Tracking | undefined {
    return this.ownTracking('number');
  }

  /** This account node's own memory of kind `by`: made when the Infobip account first needs it, let go when none does. */
  ownTracking(by: TrackBy, make = true): Tracking | undefined {
    if (!this.process.tracked(by)) {
      this.trackers[by] = undefined;
      return undefined;
    }
    return make ? (this.trackers[by] ??= this.makeTracker(by)) : this.trackers[by];
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

  /**
   * A node's turn to poll one of Infobip's pull endpoints: one node of the Infobip
   * account in this Node-RED polls, and when copies share state, one in the cluster.
   */
  pollTurn(kind: ReceivedKind): PollTurn {
    if (!this.shared) return this.process.pollTurn(kind);
    const lease = new PollLease(this.shared, kind);
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

  /**
   * Node `nodeId` receives `kind` for this account node: what it polls or is pushed goes through
   * `route`, to a node of the account node that sent it. Returns the function that stops it (once
   * what was handed to it has been emitted).
   */
  receive(kind: ReceivedKind, nodeId: string, emit: (items: object[]) => Promise<void>): () => Promise<void> {
    return this.process.receive(kind, nodeId, this.id, emit);
  }

  /** Hands what a node polled or was pushed to the nodes that receive for its senders; `own` emits the rest. */
  route(kind: ReceivedKind, items: object[], own: (items: object[]) => Promise<void>): Promise<void> {
    return this.process.route(kind, items, own);
  }

  submit(request: SendRequest, hooks: JobHooks, listener: JobListener): JobHandle {
    if (!this.configError) return this.pipeline.submit(request, hooks, listener);
    const refused = new Job(request, hooks, listener);
    refused.end(this.configError);
    return refused;
  }

  /**
   * Room in the daily limit for `parts` SMS parts (all or nothing); undefined when the account sets
   * no limit. The first refusal after an admission is told to `limitReached`.
   */
  async admit(parts: number): Promise<DailyAnswer | undefined> {
    if (!this.daily) return undefined;
    const answer = await this.daily.take(parts);
    // A message larger than the whole limit says nothing about the room left.
    if (!answer.admitted && answer.freesAt === undefined) return answer;
    if (!answer.admitted && !this.limitHolding) this.limitReached?.(answer);
    this.limitHolding = !answer.admitted;
    return answer;
  }

  /** Whether the daily limit is refusing messages now. */
  get limitHolds(): boolean {
    return this.limitHolding;
  }

  /** Ends a node's jobs on its close: waiting ones with "closed", those in flight within the grace period. */
  closeJobs(jobs: Iterable<JobHandle>): Promise<void> {
    return this.pipeline.closeJobs(jobs, CLOSE_GRACE_MS);
  }

  /** Asks about or changes a scheduled bulk, under the account's rules (Parallel, Rate limit, 429/503). */
  manageBulk({ action, bulkId, sendAt }: BulkControl): Promise<BulkAnswer> {
    if (this.configError) return Promise.reject(this.configError);
    return this.pipeline.perform((controller) => this.client.manageBulk(action, bulkId, sendAt, controller));
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

  /**
   * A report node (by message id) or an inbound node (by number) starts using tracking: every
   * account node of the Infobip account then remembers what it sends, and the node reads all of it.
   */
  useTracking(nodeId: string, by: TrackBy = 'messageId'): Tracking {
    this.process.useTracking(nodeId, this.id, by);
    return this.process.tracking(this.id, by);
  }

  /**
   * Tracking exists only while a node uses it: senders without report or inbound nodes pay nothing.
   * A node that is only restarted (redeployed, not removed) keeps it until the flows have started
   * again, so that what is sent while it closes and restarts is still tracked.
   */
  releaseTracking(nodeId: string, by: TrackBy = 'messageId', removed = true): void {
    this.process.releaseTracking(nodeId, by, removed);
  }

  /**
   * The URL at which a report node receives pushed reports, token included; every v3 message sent
   * through the Infobip account asks Infobip to push its reports there (a report node of the
   * sending account node's own first). The token is masked in whatever Infobip sends back.
   */
  offerReportUrl(reportNodeId: string, url: string, token: string): void {
    this.process.offerReportUrl(reportNodeId, this.id, url, token);
  }

  withdrawReportUrl(reportNodeId: string): void {
    this.process.withdrawReportUrl(reportNodeId);
  }

  /** Where v3 messages ask for their reports to be pushed, if a report node offers a URL. */
  get reportUrl(): string | undefined {
    return this.process.reportUrl(this.id);
  }

  /** Masks `secret` (a report node's token that a message may carry) in whatever Infobip sends back. */
  addSecret(secret: string): void {
    this.client.addSecret(secret);
    this.client.addSecret(encodeURIComponent(secret));
  }

  async close(graceMs = CLOSE_GRACE_MS): Promise<void> {
    this.closed = true;
    this.leave();
    let grace: NodeJS.Timeout | undefined;
    const pollsDone = Promise.race([
      Promise.all(this.polls),
      new Promise((resolve) => (grace = setTimeout(resolve, graceMs))),
    ]);
    // Each node ended its own resolutions as it closed; what is left ends "delivery unknown" now.
    this.resolution?.resolver.close(new SmsError('closed'));
    await Promise.all([this.pipeline.close(graceMs), pollsDone]);
    await this.daily?.close();
    clearTimeout(grace);
    this.client.close();
    await Promise.all([...this.leases].map((lease) => lease.release()));
    await this.shared?.close();
  }
}
