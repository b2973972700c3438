import type { PollTurn } from '../shared/lease';
import type { SharedState } from '../shared/redis';
import { sharedReferences } from '../shared/references';
import { referenceCounter } from '../send/request';
import { type TrackBy, type TrackedMessage, type Tracking, numberKey } from '../track/tracker';
import { ProcessBudget } from './budget';

/** What is received from Infobip: delivery reports (found by message id) and inbound SMS (by number). */
export type ReceivedKind = 'reports' | 'inbound';
const TRACKED_BY: Record<ReceivedKind, TrackBy> = { reports: 'messageId', inbound: 'number' };

/** What the process-wide account knows of one account node (config node): its trackers, while it has them. */
export interface AccountView {
  readonly id: string;
  /** The node's own memory of what it sent, when it keeps one (with `make` false, only one it has). */
  ownTracking(by: TrackBy, make?: boolean): Tracking | undefined;
  /** Masks a secret (a report node's token) in whatever Infobip answers the node. */
  addSecret(secret: string): void;
}

/** A report or inbound node that receives for an account node: its emits under way are awaited when it stops. */
interface ReceivingNode {
  view: string;
  emit: (items: object[]) => Promise<void>;
  pending: Set<Promise<void>>;
}

/**
 * One Infobip account (base URL and credentials) as every account node in this Node-RED that
 * speaks for it shares it: which nodes need tracking, each node's memory readable by all, one
 * poller per kind of what is received (Infobip hands each item out once), everything received
 * routed to a node of the account node that sent it, one request budget, one counter of
 * concatenation references, and where v3 messages ask for their reports to be pushed.
 */
export class ProcessAccount {
  private readonly views = new Map<string, AccountView>();
  /** The memories of account nodes that closed, readable until the flows have started (they restart or are gone). */
  private readonly closed = new Map<string, { messageId?: Tracking; number?: Tracking }>();
  /** The report (by id) and inbound (by number) nodes using tracking, with the account node of each. */
  private readonly users = { messageId: new Map<string, string>(), number: new Map<string, string>() };
  /** Of those, the nodes closing for a restart, until the flows have started again. */
  private readonly leaving = { messageId: new Set<string>(), number: new Set<string>() };
  private readonly receivers = { reports: new Map<string, ReceivingNode>(), inbound: new Map<string, ReceivingNode>() };
  /** The turns of the nodes waiting to poll each kind, in the order they asked: the first polls. */
  private readonly pollers = { reports: [] as object[], inbound: [] as object[] };
  private readonly reportUrls = new Map<string, { view: string; url: string }>();
  /** The tokens of report URLs offered: a message of any account node may carry one. */
  private readonly secrets = new Set<string>();
  /** The request budget of the account's nodes together. */
  readonly budget = new ProcessBudget();
  /** Concatenation references of the account's split payloads, from a random start (one counter for all its nodes). */
  private readonly ownReferences = referenceCounter();
  /** With Redis, the cluster's counter, taken in blocks through the Redis of the account node that first asked. */
  private sharedReferences?: { owner: AccountView; next: () => number };

  constructor(readonly key: string) {}

  /** Adds an account node; returns the function that takes it away again (only it, not a successor under its id). */
  join(view: AccountView): () => void {
    this.views.set(view.id, view);
    this.closed.delete(view.id);
    for (const secret of this.secrets) view.addSecret(secret);
    return () => {
      if (this.views.get(view.id) !== view) return;
      this.views.delete(view.id);
      // What it sent is still found while it restarts (or until the flows have started without it).
      this.closed.set(view.id, {
        messageId: view.ownTracking('messageId', false),
        number: view.ownTracking('number', false),
      });
      if (this.sharedReferences?.owner === view) this.sharedReferences = undefined;
    };
  }

  /** The account's next concatenation reference: one counter for all its account nodes, and with Redis for the cluster. */
  references(view: AccountView, shared?: SharedState): () => number {
    return () => {
      if (shared && !this.sharedReferences)
        this.sharedReferences = { owner: view, next: sharedReferences(shared, this.ownReferences) };
      return (this.sharedReferences?.next ?? this.ownReferences)();
    };
  }

  get idle(): boolean {
    return this.views.size === 0 && this.users.messageId.size === 0 && this.users.number.size === 0;
  }

  /** Whether some report (by id) or inbound (by number) node of the account needs what its nodes send. */
  tracked(by: TrackBy): boolean {
    return this.users[by].size > 0;
  }

  /** A report or inbound node of account node `view` starts using tracking. */
  useTracking(nodeId: string, view: string, by: TrackBy): void {
    this.users[by].set(nodeId, view);
    this.leaving[by].delete(nodeId);
  }

  /**
   * A node that is only restarted (redeployed, not removed) keeps tracking until the flows have
   * started again, so that what is sent while it closes and restarts is still tracked.
   */
  releaseTracking(nodeId: string, by: TrackBy, removed: boolean): void {
    if (removed) {
      this.users[by].delete(nodeId);
      this.leaving[by].delete(nodeId);
    } else if (this.users[by].has(nodeId)) this.leaving[by].add(nodeId);
  }

  /** The flows have started: nodes that closed for a restart and did not come back release their tracking. */
  flowsStarted(): void {
    this.closed.clear();
    for (const by of ['messageId', 'number'] as const) {
      for (const nodeId of [...this.leaving[by]]) this.releaseTracking(nodeId, by, true);
    }
  }

  /** Every account node's memory of kind `by`. */
  trackings(by: TrackBy): Tracking[] {
    return [
      ...[...this.views.values()].map((view) => view.ownTracking(by)),
      ...[...this.closed.values()].map((memories) => memories[by]),
    ].filter((tracking): tracking is Tracking => !!tracking);
  }

  /** Tracking for a node of account node `view`: its own memory, and every other account node's read too. */
  tracking(view: string, by: TrackBy): Tracking {
    const own = this.views.get(view)?.ownTracking(by);
    if (!own) throw new Error(`account node ${view} keeps no tracking`);
    // Its own memory is held on to: a node closing after its account node still finds what it sent.
    return new AccountTracking(own, () => this.trackings(by).filter((tracking) => tracking !== own), by === 'number');
  }

  /** Where v3 messages of account node `view` ask for their reports: a report node of its own, else any of the account's. */
  reportUrl(view: string): string | undefined {
    const offers = [...this.reportUrls.values()];
    return (offers.find((offer) => offer.view === view) ?? offers[0])?.url;
  }

  offerReportUrl(nodeId: string, view: string, url: string, token: string): void {
    this.reportUrls.set(nodeId, { view, url });
    if (!token || this.secrets.has(token)) return;
    this.secrets.add(token);
    for (const each of this.views.values()) each.addSecret(token);
  }

  withdrawReportUrl(nodeId: string): void {
    this.reportUrls.delete(nodeId);
  }

  /**
   * A report or inbound node of account node `view` receives: what it polls or is pushed goes
   * through `route`, which hands each item to a node of the account node that sent it. Returns
   * the function that stops it receiving.
   */
  receive(
    kind: ReceivedKind,
    nodeId: string,
    view: string,
    emit: (items: object[]) => Promise<void>,
  ): () => Promise<void> {
    const node: ReceivingNode = { view, emit, pending: new Set() };
    this.receivers[kind].set(nodeId, node);
    return async () => {
      if (this.receivers[kind].get(nodeId) === node) this.receivers[kind].delete(nodeId);
      // What was handed to it before it stopped still reaches its outputs (or what it keeps while closing).
      await Promise.all(node.pending);
    };
  }

  /**
   * Hands each item to a node that receives for the account node that sent it (the first of its
   * nodes to start), or to `own` — the emit of the node that polled or was pushed it — when that
   * account node has none, or the item is not tracked.
   */
  async route(kind: ReceivedKind, items: object[], own: (items: object[]) => Promise<void>): Promise<void> {
    const by = TRACKED_BY[kind];
    const trackings = this.trackings(by);
    const senders =
      trackings.length > 1
        ? await Promise.all(items.map((item) => senderOf(trackings, keyOf(kind, item), by === 'number')))
        : [];
    // The receiving nodes are found only now, just before emitting: one that stopped meanwhile is none.
    const byTarget = new Map<ReceivingNode | undefined, object[]>();
    items.forEach((item, index) => {
      const sender = senders[index];
      const target = sender === undefined ? undefined : this.receiverOf(kind, sender);
      byTarget.set(target, [...(byTarget.get(target) ?? []), item]);
    });
    await Promise.all(
      [...byTarget].map(([target, routed]) => {
        if (!target || target.emit === own) return own(routed);
        const emitting = target.emit(routed).finally(() => target.pending.delete(emitting));
        target.pending.add(emitting);
        return emitting;
      }),
    );
  }

  /** The turn to poll `kind`: one node of the account polls, the next takes over when it stops. */
  pollTurn(kind: ReceivedKind): PollTurn {
    const waiting = this.pollers[kind];
    // A token per node: a restarted node's late release never hands back its successor's turn.
    const token = {};
    waiting.push(token);
    return {
      mine: () => Promise.resolve(waiting[0] === token),
      release: () => {
        const index = waiting.indexOf(token);
        if (index >= 0) waiting.splice(index, 1);
        return Promise.resolve();
      },
    };
  }

  private receiverOf(kind: ReceivedKind, view: string): ReceivingNode | undefined {
    for (const node of this.receivers[kind].values()) if (node.view === view) return node;
    return undefined;
  }
}

function keyOf(kind: ReceivedKind, item: object): string {
  const { messageId, from } = item as { messageId?: string; from?: string };
  return kind === 'reports' ? (messageId ?? '') : numberKey(from ?? '');
}

/**
 * The account node that sent what `key` names, when one of the memories knows it; by number, the
 * one that sent to it last.
 */
async function senderOf(trackings: Tracking[], key: string, newest: boolean): Promise<string | undefined> {
  return (await found(trackings, (tracking) => tracking.entry(key), newest))?.account;
}

/** The first memory's entry that `read` finds, or with `newest` the latest sent of all. */
async function found(
  trackings: Tracking[],
  read: (tracking: Tracking) => Promise<TrackedMessage | undefined>,
  newest: boolean,
): Promise<TrackedMessage | undefined> {
  if (!newest) {
    for (const tracking of trackings) {
      const entry = await read(tracking);
      if (entry) return entry;
    }
    return undefined;
  }
  const entries = await Promise.all(trackings.map(read));
  return entries.reduce<TrackedMessage | undefined>(
    (latest, entry) => (entry && (!latest || entry.at > latest.at) ? entry : latest),
    undefined,
  );
}

/**
 * The memories of all account nodes of one Infobip account as one: a node tracks in its own
 * account node's memory and watches it for overdue; it finds, notes and forgets in all of them.
 */
class AccountTracking implements Tracking {
  constructor(
    private readonly own: Tracking,
    private readonly others: () => Tracking[],
    /** By number: the last message sent to it, whichever account node sent it. */
    private readonly newest: boolean,
  ) {}

  private all(): Tracking[] {
    return [this.own, ...this.others()];
  }

  get ready(): Promise<void> {
    return Promise.all(this.all().map((tracking) => tracking.ready)).then(() => undefined);
  }

  get size(): number {
    return this.own.size;
  }

  track(entry: TrackedMessage): void {
    this.own.track(entry);
  }

  lookup(key: string): Promise<TrackedMessage | undefined> {
    return found(this.all(), (tracking) => tracking.lookup(key), this.newest);
  }

  entry(key: string): Promise<TrackedMessage | undefined> {
    return found(this.all(), (tracking) => tracking.entry(key), this.newest);
  }

  async markReported(messageId: string, report?: unknown): Promise<void> {
    await Promise.all(this.all().map((tracking) => tracking.markReported(messageId, report)));
  }

  /** A bulk's messages, from every memory (each message once). */
  async bulk(bulkId: string): Promise<TrackedMessage[]> {
    const found = new Map<string, TrackedMessage>();
    for (const entries of await Promise.all(this.all().map((tracking) => tracking.bulk(bulkId)))) {
      for (const entry of entries) if (!found.has(entry.messageId)) found.set(entry.messageId, entry);
    }
    return [...found.values()];
  }

  async reschedule(messageId: string, change: Pick<TrackedMessage, 'scheduledAt' | 'paused'>): Promise<void> {
    await Promise.all(this.all().map((tracking) => tracking.reschedule(messageId, change)));
  }

  async markResent(messageId: string): Promise<void> {
    await Promise.all(this.all().map((tracking) => tracking.markResent(messageId)));
  }

  async markAcceptedReport(messageId: string): Promise<void> {
    await Promise.all(this.all().map((tracking) => tracking.markAcceptedReport(messageId)));
  }

  async partsReported(first: string, index: number, count: number): Promise<number | undefined> {
    const counts = await Promise.all(this.all().map((tracking) => tracking.partsReported(first, index, count)));
    return counts.find((counted) => counted !== undefined);
  }

  /** False when any memory holding the message recorded that status already. */
  async setCombined(messageId: string, combined: string): Promise<boolean> {
    const answers = await Promise.all(this.all().map((tracking) => tracking.setCombined(messageId, combined)));
    return answers.every(Boolean);
  }

  forget(messageId: string): boolean {
    return this.all()
      .map((tracking) => tracking.forget(messageId))
      .some(Boolean);
  }

  takeOverdue(sentBefore: number): Promise<TrackedMessage[]> {
    return this.own.takeOverdue(sentBefore);
  }
}

const accounts = new Map<string, ProcessAccount>();

/** The process-wide account named by `key` (base URL and credentials, hashed), made on first use. */
export function processAccount(key: string): ProcessAccount {
  let account = accounts.get(key);
  if (!account) accounts.set(key, (account = new ProcessAccount(key)));
  return account;
}

/** The flows have started: every account lets go of what restarted nodes that did not come back held, and forgets itself when idle. */
export function processFlowsStarted(): void {
  for (const [key, account] of accounts) {
    account.flowsStarted();
    if (account.idle) accounts.delete(key);
  }
}
