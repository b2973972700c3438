import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { AccountNode } from './lib/account';
import { isReportPage } from './lib/client';
import { ReportError, SendFailure } from './lib/errors';
import { Poller } from './lib/poller';
import { ReportMessages, watchOverdue } from './lib/reports';
import { postRoute } from './lib/routes';
import { REPORT_NUMBERS, normaliseBaseUrl, normaliseRoutePath, parseReportNumber } from './lib/rules';
import { NodeStatus, ThrottledStatus, showAfterStart } from './lib/status';
import { webhookHandler } from './lib/webhook';

interface ReportConfig extends NodeDef {
  account: string;
  mode?: 'poll' | 'webhook';
  interval?: string | number;
  path?: string;
  overdue?: string | number;
  /** Webhook mode: the address at which Infobip reaches this Node-RED, e.g. https://nodered.example.com. */
  publicUrl?: string;
}

const REPORT_DEFAULTS = { interval: 15, path: '/infobip/reports', overdue: 0 };
/** Reports per GET; a full page means more are waiting. */
const PAGE = 1000;
/** How long closing waits for a poll under way (its page is emitted) before aborting it. */
const POLL_PATIENCE_MS = 5000;

/** The node's settings as they will be used, and every problem with them. */
function readSettings(config: ReportConfig, account: AccountNode | null) {
  const problems: ReportError[] = [];
  const number = (field: 'interval' | 'overdue'): number => {
    const parsed = parseReportNumber(field, config[field]);
    if (parsed.ok) return parsed.value ?? REPORT_DEFAULTS[field];
    const { min, max } = REPORT_NUMBERS[field];
    problems.push(new ReportError('number', { name: field, value: parsed.value, min, max }));
    return REPORT_DEFAULTS[field];
  };
  const mode = config.mode === 'webhook' ? 'webhook' : 'poll';
  const intervalMs = number('interval') * 1000;
  const overdueMs = number('overdue') * 60_000;
  const path = normaliseRoutePath(config.path ?? REPORT_DEFAULTS.path);
  if (mode === 'webhook' && !path) problems.push(new ReportError('path', { value: config.path ?? '' }));
  const publicText = mode === 'webhook' ? (config.publicUrl ?? '').trim() : '';
  const publicUrl = publicText ? normaliseBaseUrl(publicText) : undefined;
  if (publicText && !publicUrl) problems.push(new ReportError('publicUrl', { value: publicText }));
  if (!account) problems.push(new ReportError('noAccount'));
  else if (account.account.configError) problems.push(new ReportError('account'));
  return { mode, intervalMs, overdueMs, path: path ?? '', publicUrl, problems };
}

/** A short, secret-free reason: the HTTP status with Infobip's text, or the network error code. */
function describe(error: unknown): string {
  if (!(error instanceof SendFailure)) return error instanceof Error ? error.message : String(error);
  const { status, detail, code } = error.params;
  if (status !== undefined) return `HTTP ${status}${detail ? `: ${detail}` : ''}`;
  return String(code ?? error.key);
}

export = function register(RED: NodeAPI): void {
  function BinarySmsReportNode(this: Node<{ token?: string }>, config: ReportConfig): void {
    RED.nodes.createNode(this, config);
    const accountNode = RED.nodes.getNode(config.account) as AccountNode | null;
    const settings = readSettings(config, accountNode);
    const status = new ThrottledStatus((shown: NodeStatus) => this.status(shown));
    const text = (error: ReportError) => {
      const params = { ...error.params };
      if (error.key === 'number') params.name = RED._(`binary-sms-report.label.${params.name}`);
      return RED._(`binary-sms-report.errors.${error.key}`, params);
    };
    // Everything the node starts is stopped here; registered before anything that can throw.
    const stops: (() => unknown)[] = [];
    this.on('close', (_removed: boolean, done: () => void) => {
      void Promise.all(stops.map((stop) => Promise.resolve().then(stop)))
        .catch(() => undefined)
        .then(() => {
          status.clear();
          done();
        });
    });
    const showOnceStarted = (show: () => void) => stops.push(showAfterStart(RED.events, show));

    if (settings.problems.length > 0 || !accountNode) {
      const first = text(settings.problems[0]);
      showOnceStarted(() => status.show('red', 'ring', first));
      this.error(settings.problems.map(text).join('\n'));
      return;
    }
    const account = accountNode.account;
    const tracker = account.useTracking(this.id);
    stops.push(() => account.releaseTracking(this.id));
    const messages = new ReportMessages(tracker, (msg) => this.send([msg, null]), account.api === 'v3');
    const showIdle = () => {
      const { mode, intervalMs, path } = settings;
      const key = mode === 'poll' ? 'polling' : 'listening';
      status.show('green', 'dot', () =>
        RED._(`binary-sms-report.status.${key}`, { seconds: intervalMs / 1000, path, count: messages.count }),
      );
    };

    if (settings.overdueMs > 0) {
      const warn = (error: unknown) => this.warn(describe(error));
      stops.push(watchOverdue(tracker, settings.overdueMs, (msg) => this.send([null, msg]), warn));
    }

    if (settings.mode === 'poll') {
      let unauthorized = false;
      const poller = new Poller({
        intervalMs: settings.intervalMs,
        pageSize: PAGE,
        fetch: (controller) => account.fetchReports(PAGE, controller),
        emit: (page) => messages.emit(page),
        ready: tracker.ready,
        listener: {
          idle: () => {
            unauthorized = false;
            showIdle();
          },
          retrying: (delayMs, error, first) => {
            status.show('yellow', 'ring', () =>
              RED._('binary-sms-report.status.retrying', { seconds: Math.ceil(delayMs / 1000) }),
            );
            if (first) this.warn(text(new ReportError('pollFailed', { detail: describe(error) })));
          },
          unauthorized: (code, first) => {
            unauthorized = true;
            status.show('red', 'ring', 'binary-sms-report.status.unauthorized');
            if (first) this.error(text(new ReportError('unauthorized', { status: code })));
          },
        },
      });
      stops.push(() => poller.stop(POLL_PATIENCE_MS));
      showOnceStarted(() => !unauthorized && showIdle());
      poller.start();
      return;
    }

    const token = this.credentials?.token ?? '';
    const handler = webhookHandler({
      token,
      read: (body) => (isReportPage(body) ? body.results : undefined),
      expected: '{ "results": [ { "messageId": … }, … ] }',
      emit: async (reports) => {
        await messages.emit(reports);
        showIdle();
      },
    });
    const route = postRoute(RED, this, settings.path, handler, text(new ReportError('noHttpRoot')));
    if (route) stops.push(() => route.remove());
    if (route && settings.publicUrl && account.api === 'v3') {
      // Every v3 message sent through the account asks Infobip to push its reports here: no portal step.
      const root = String((RED.settings as { httpNodeRoot?: string }).httpNodeRoot ?? '/').replace(/\/+$/, '');
      const query = token ? `?token=${encodeURIComponent(token)}` : '';
      account.offerReportUrl(this.id, settings.publicUrl + root + settings.path + query, token);
      stops.push(() => account.withdrawReportUrl(this.id));
    } else if (settings.publicUrl && account.api !== 'v3') {
      this.warn(text(new ReportError('publicUrlV1')));
    }
    if (!route) {
      showOnceStarted(() => status.show('red', 'ring', 'binary-sms-report.status.noHttpRoot'));
    } else if (!token) {
      this.warn(text(new ReportError('noToken', { path: settings.path })));
      showOnceStarted(() => status.show('yellow', 'ring', 'binary-sms-report.status.noToken'));
    } else {
      showOnceStarted(showIdle);
    }
  }

  RED.nodes.registerType(
    'binary-sms-report',
    BinarySmsReportNode as unknown as Parameters<typeof RED.nodes.registerType>[1],
    {
      credentials: { token: { type: 'password' } },
    },
  );
};
