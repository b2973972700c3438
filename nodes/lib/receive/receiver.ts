import type { Node, NodeAPI, NodeDef } from 'node-red';
import { ReceiveError, describe } from '../errors';
import { HeldOutputs, type Output } from './held';
import { Poller } from './poller';
import type { PollTurn } from '../shared/lease';
import { postRoute } from './routes';
import { RECEIVER_NUMBERS, normaliseRoutePath, parseReceiverNumber } from '../rules';
import { NodeStatus, ThrottledStatus, afterFlowsStarted, showAfterStart } from '../status';
import { webhookHandler } from './webhook';

/** Items per GET; a full page means more are waiting. */
const PAGE = 1000;
/** Seconds between polls when the setting is empty. */
const DEFAULT_INTERVAL_S = 15;
/** The shortest webhook token accepted: shorter ones can be guessed, and masking them would alter answers. */
export const MIN_TOKEN_LENGTH = 16;
/** How long closing waits for a poll under way (its page is emitted) before aborting it. */
const POLL_PATIENCE_MS = 5000;

/** The settings of a node that receives from Infobip (delivery reports, inbound SMS), as saved. */
export interface ReceiverConfig extends NodeDef {
  account: string;
  mode?: 'poll' | 'webhook';
  interval?: string | number;
  path?: string;
}

export interface ReceiverSettings {
  mode: 'poll' | 'webhook';
  intervalMs: number;
  path: string;
  /** The context store that keeps outputs received while the node closes (the account's Track store). */
  store?: string;
}

/** What a receiving node reads of its account's settings. */
export interface ReceivingAccount {
  /** Set when the account cannot be used. */
  configError?: unknown;
  /** The account's Track store. */
  trackStore?: string;
}

/** What a receiving node fetches, or is pushed, and emits. */
export interface Source<T> {
  /** One page from Infobip; aborting the controller gives up on it. */
  fetch(limit: number, controller: AbortController): Promise<T[]>;
  /** The items of a pushed body, or undefined for a body of the wrong shape. */
  read(body: unknown): T[] | undefined;
  /** What a pushed body of the wrong shape is told it should be. */
  expected: string;
  /** Emits items; Infobip hands out each once, so this runs even while the node closes. */
  emit(items: T[]): Promise<void>;
  /** Items emitted so far, for the status. */
  count(): number;
  /** Receiving starts once this has resolved (e.g. tracking has loaded). */
  ready?: Promise<void>;
  /** When the account's copies share state: only the holder of this turn polls. */
  turn?: PollTurn;
}

/**
 * The part every node that receives from Infobip shares: its status, its texts (from its own
 * catalog), what its close stops, its settings problems, and receiving by polling or by webhook.
 */
export class Receiver {
  readonly status: ThrottledStatus;
  /** Everything the node starts is stopped on close. */
  private readonly stops: ((removed: boolean) => unknown)[] = [];
  private held?: HeldOutputs;

  /** Registers the node's close handler first, before anything that can throw. */
  constructor(
    private readonly RED: NodeAPI,
    private readonly node: Node<{ token?: string }>,
    /** The node's type, which names its catalog. */
    private readonly catalog: string,
  ) {
    this.status = new ThrottledStatus((shown: NodeStatus) => node.status(shown));
    node.on('close', (removed: boolean, done: () => void) => {
      this.held?.startClosing();
      void Promise.all(this.stops.map((stop) => Promise.resolve().then(() => stop(removed === true))))
        .catch(() => undefined)
        .then(() => this.held?.finishClosing(removed === true))
        .catch(() => undefined)
        .then(() => {
          this.status.clear();
          done();
        });
    });
  }

  /** Sends an output of the node; while it closes, keeps it for the node's next start (see HeldOutputs). */
  send(output: Output): void {
    if (this.held) this.held.send(output);
    else this.node.send(output);
  }

  text(error: ReceiveError): string {
    const params = { ...error.params };
    if (error.key === 'number') params.name = this.RED._(`${this.catalog}.label.${params.name}`);
    return this.RED._(`${this.catalog}.errors.${error.key}`, params);
  }

  /** `stop` learns whether the node is removed (not only restarted by a deploy). */
  onClose(stop: (removed: boolean) => unknown): void {
    this.stops.push(stop);
  }

  /** Shows a status once the flows have started (a status set while they start is lost). */
  showOnceStarted(show: () => void): void {
    this.stops.push(showAfterStart(this.RED.events, show));
  }

  /** Reads a numeric setting within RECEIVER_NUMBERS' bounds; a bad one is added to `problems` and `fallback` used. */
  number(field: keyof typeof RECEIVER_NUMBERS, value: unknown, fallback: number, problems: ReceiveError[]): number {
    const parsed = parseReceiverNumber(field, value);
    if (parsed.ok) return parsed.value ?? fallback;
    const { min, max } = RECEIVER_NUMBERS[field];
    problems.push(new ReceiveError('number', { name: field, value: parsed.value, min, max }));
    return fallback;
  }

  /** Mode, interval and path, and the account, each problem added to `problems`. */
  readSettings(
    config: ReceiverConfig,
    account: ReceivingAccount | undefined,
    defaultPath: string,
    problems: ReceiveError[],
  ): ReceiverSettings {
    const mode = config.mode === 'webhook' ? 'webhook' : 'poll';
    const intervalMs = this.number('interval', config.interval, DEFAULT_INTERVAL_S, problems) * 1000;
    const path = normaliseRoutePath(config.path ?? defaultPath);
    if (mode === 'webhook' && !path) problems.push(new ReceiveError('path', { value: config.path ?? '' }));
    const token = this.node.credentials?.token ?? '';
    if (mode === 'webhook' && token !== '' && token.length < MIN_TOKEN_LENGTH) {
      problems.push(new ReceiveError('tokenShort', { length: token.length, min: MIN_TOKEN_LENGTH }));
    }
    if (!account) problems.push(new ReceiveError('noAccount'));
    else if (account.configError) problems.push(new ReceiveError('account'));
    return { mode, intervalMs, path: path ?? '', store: account?.trackStore };
  }

  /** Settings that cannot work: a red status (as binary-sms shows it) and one error naming them all. */
  refuse(problems: ReceiveError[]): void {
    const { RED, catalog } = this;
    // As binary-sms shows it: "account not set up", else the first problem of the node's own settings.
    const first = ['noAccount', 'account'].includes(problems[0].key)
      ? () => RED._(`${catalog}.status.accountNotSetUp`)
      : () => this.text(problems[0]);
    this.showOnceStarted(() => this.status.show('red', 'ring', first));
    this.node.error(problems.map((problem) => this.text(problem)).join('\n'));
  }

  /** Polls, or listens for pushes; returns whether a webhook route was made (always true when polling). */
  receive<T>(settings: ReceiverSettings, source: Source<T>): boolean {
    const { RED, status, catalog } = this;
    const held = new HeldOutputs(
      this.node.id,
      this.node.context(),
      settings.store,
      (output) => this.node.send(output),
      (detail) => this.node.warn(this.text(new ReceiveError('keptStore', { detail }))),
    );
    this.held = held;
    const started = new Promise<void>((resolve) => {
      const cancel = afterFlowsStarted(RED.events, resolve);
      // Closed before the flows started: resume() then sees the node closing and keeps what it holds.
      this.onClose(() => {
        cancel();
        resolve();
      });
    });
    // What an earlier self received while closing goes out first, once the flows have started.
    const resumed = held.resume(started);
    const ready = Promise.all([source.ready, resumed]).then(() => undefined);
    const showIdle = () => {
      const { mode, intervalMs, path } = settings;
      const key = mode === 'poll' ? 'polling' : 'listening';
      status.show('green', 'dot', () =>
        RED._(`${catalog}.status.${key}`, { seconds: intervalMs / 1000, path, count: source.count() }),
      );
    };
    if (settings.mode === 'poll') {
      let unauthorized = false;
      const poller = new Poller({
        intervalMs: settings.intervalMs,
        pageSize: PAGE,
        fetch: (controller) => source.fetch(PAGE, controller),
        emit: (page) => source.emit(page),
        ready,
        turn: source.turn,
        listener: {
          standby: () =>
            status.show('grey', 'ring', () => RED._(`${catalog}.status.standby`, { count: source.count() })),
          idle: () => {
            unauthorized = false;
            showIdle();
          },
          retrying: (delayMs, error, first) => {
            status.show('yellow', 'ring', () =>
              RED._(`${catalog}.status.retrying`, { seconds: Math.ceil(delayMs / 1000) }),
            );
            if (first) this.node.warn(this.text(new ReceiveError('pollFailed', { detail: describe(error) })));
          },
          unauthorized: (code, first) => {
            unauthorized = true;
            status.show('red', 'ring', () => RED._(`${catalog}.status.unauthorized`));
            if (first) this.node.error(this.text(new ReceiveError('unauthorized', { status: code })));
          },
        },
      });
      this.onClose(() => poller.stop(POLL_PATIENCE_MS));
      this.showOnceStarted(() => !unauthorized && showIdle());
      poller.start();
      return true;
    }

    const token = this.node.credentials?.token ?? '';
    const handler = webhookHandler({
      token,
      // While closing, a push is answered 503: Infobip pushes it again later, to the node's next self.
      accepting: () => !held.isClosing,
      read: (body) => source.read(body),
      expected: source.expected,
      emit: async (items) => {
        await source.emit(items);
        showIdle();
      },
    });
    const route = postRoute(RED, this.node, settings.path, handler, this.text(new ReceiveError('noHttpRoot')));
    if (!route) {
      this.showOnceStarted(() => status.show('red', 'ring', () => RED._(`${catalog}.status.noHttpRoot`)));
      return false;
    }
    this.onClose(() => route.remove());
    if (!token) {
      this.node.warn(this.text(new ReceiveError('noToken', { path: settings.path })));
      this.showOnceStarted(() => status.show('yellow', 'ring', () => RED._(`${catalog}.status.noToken`)));
    } else {
      this.showOnceStarted(showIdle);
    }
    return true;
  }
}
