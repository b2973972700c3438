import crypto from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { AccountNode } from './lib/account';
import { DeliveryReport, SendFailure, isReportPage } from './lib/client';
import { Request, Response, postRoute, readBody } from './lib/routes';
import { REPORT_NUMBERS, normaliseRoutePath, parseReportNumber } from './lib/rules';
import { NodeStatus, ThrottledStatus } from './lib/status';
import { Tracker } from './lib/tracker';

interface ReportConfig extends NodeDef {
  account: string;
  mode?: 'poll' | 'webhook';
  interval?: string | number;
  path?: string;
  overdue?: string | number;
}

interface ReportCredentials {
  token?: string;
}

const REPORT_DEFAULTS = { interval: 15, path: '/infobip/reports', overdue: 0 };
/** Reports per GET; a full page means more are waiting. */
const PAGE = 1000;
const MAX_BODY_BYTES = 1024 * 1024;
const MAX_BACKOFF_MS = 60_000;
/** setTimeout holds at most 2^31-1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** Status groups after which no further report comes for a message. */
const FINAL_GROUPS = new Set(['DELIVERED', 'UNDELIVERABLE', 'EXPIRED', 'REJECTED']);

export = function register(RED: NodeAPI): void {
  function BinarySmsReportNode(this: Node<ReportCredentials>, config: ReportConfig): void {
    RED.nodes.createNode(this, config);
    const account = RED.nodes.getNode(config.account) as AccountNode | null;
    const mode = config.mode === 'webhook' ? 'webhook' : 'poll';
    const status = new ThrottledStatus((shown: NodeStatus) => this.status(shown));
    const seen = new Map<string, number>();
    let reported = 0;
    let closed = false;

    const problems: string[] = [];
    const number = (field: 'interval' | 'overdue'): number => {
      const parsed = parseReportNumber(field, config[field]);
      if (parsed.ok) return parsed.value ?? REPORT_DEFAULTS[field];
      const { min, max } = REPORT_NUMBERS[field];
      const name = RED._(`binary-sms-report.label.${field}`);
      problems.push(RED._('binary-sms-report.errors.number', { name, value: parsed.value, min, max }));
      return REPORT_DEFAULTS[field];
    };
    const intervalMs = number('interval') * 1000;
    const overdueMs = number('overdue') * 60_000;
    const path = normaliseRoutePath(config.path ?? REPORT_DEFAULTS.path);
    if (mode === 'webhook' && !path)
      problems.push(RED._('binary-sms-report.errors.path', { value: config.path ?? '' }));
    if (!account) problems.push(RED._('binary-sms-report.errors.noAccount'));
    else if (account.configError) problems.push(RED._('binary-sms-report.errors.account'));

    const showIdle = () => {
      if (mode === 'poll') {
        status.show('green', 'dot', () =>
          RED._('binary-sms-report.status.polling', { seconds: intervalMs / 1000, count: reported }),
        );
      } else {
        status.show('green', 'dot', () =>
          RED._('binary-sms-report.status.listening', { path: path ?? '', count: reported }),
        );
      }
    };
    // A catalog key (translated by the editor) or an already translated sentence.
    const showProblem = (text: string) => status.show('red', 'ring', text);

    if (problems.length > 0 || !account) {
      showProblem(problems[0]);
      this.error(problems.join('\n'));
      return;
    }
    const tracker: Tracker = account.useTracking(this.id);

    /** Turns reports into messages, in order; a report seen before (same messageId and status) is skipped. */
    const emit = async (reports: DeliveryReport[]) => {
      const now = Date.now();
      const fresh = reports.filter((report) => {
        const key = `${report.messageId}\u0000${report.status?.name ?? report.status?.groupName ?? ''}`;
        if (seen.has(key)) return false;
        seen.set(key, now);
        return true;
      });
      forgetOldSeen(seen, tracker.limit, now);
      const tracked = await Promise.all(fresh.map((report) => tracker.lookup(report.messageId).catch(() => undefined)));
      fresh.forEach((report, index) => {
        const msg: NodeMessage & Record<string, unknown> = {
          payload: report,
          messageId: report.messageId,
          to: report.to,
          delivered: report.status?.groupName === 'DELIVERED',
        };
        if (report.bulkId !== undefined) msg.bulkId = report.bulkId;
        const sent = tracked[index];
        if (sent) msg.sent = sent.sent;
        this.send([msg, null]);
        if (FINAL_GROUPS.has(String(report.status?.groupName))) tracker.forget(report.messageId);
      });
      reported += fresh.length;
    };

    const startPolling = (): (() => Promise<void>) => {
      let timer: NodeJS.Timeout | undefined;
      let running: Promise<void> = Promise.resolve();
      let failures = 0;
      let unauthorisedLogged = false;
      const controller = new AbortController();

      const schedule = (delayMs: number) => {
        if (closed) return;
        timer = setTimeout(
          () => {
            running = poll();
          },
          Math.min(delayMs, MAX_TIMER_MS),
        );
      };

      const poll = async (): Promise<void> => {
        try {
          // A full page means more are waiting: fetch the next at once.
          for (;;) {
            const page = await account.fetchReports(PAGE, controller);
            failures = 0;
            unauthorisedLogged = false;
            // Fetched reports are gone from Infobip: emit them even when closing.
            await emit(page);
            if (page.length < PAGE || closed) break;
          }
          showIdle();
          schedule(intervalMs);
        } catch (error) {
          if (closed) return;
          const failure = error instanceof SendFailure ? error : undefined;
          if (failure?.statusCode === 401 || failure?.statusCode === 403) {
            showProblem('binary-sms-report.status.unauthorized');
            if (!unauthorisedLogged)
              this.error(RED._('binary-sms-report.errors.unauthorized', { status: failure.statusCode }));
            unauthorisedLogged = true;
            schedule(intervalMs);
            return;
          }
          failures++;
          const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1));
          const delayMs = Math.max(failure?.retryAfterMs ?? 0, backoff);
          status.show('yellow', 'ring', () =>
            RED._('binary-sms-report.status.retrying', { seconds: Math.ceil(delayMs / 1000) }),
          );
          if (failures === 1) this.warn(RED._('binary-sms-report.errors.pollFailed', { detail: describe(error) }));
          schedule(delayMs);
        }
      };

      showIdle();
      running = tracker.ready.then(poll);
      return async () => {
        clearTimeout(timer);
        // Let a poll under way finish (its reports are emitted), but give up waiting after a while.
        const patience = setTimeout(() => controller.abort(), 5000);
        await running;
        clearTimeout(patience);
      };
    };

    const startWebhook = (): (() => Promise<void>) => {
      const token = this.credentials?.token ?? '';
      const handle = async (req: Request, res: Response) => {
        if (token && !sameSecret(typeof req.query?.token === 'string' ? req.query.token : '', token)) {
          res.status(401).json({ error: 'token missing or wrong' });
          return;
        }
        let body = req.body;
        if (body === undefined || !req.readableEnded) {
          const raw = await readBody(req, MAX_BODY_BYTES);
          if (raw === undefined) {
            res.status(413).json({ error: 'body larger than 1 MB' });
            return;
          }
          try {
            body = JSON.parse(raw);
          } catch {
            res.status(400).json({ error: 'body is not JSON' });
            return;
          }
        }
        if (!isReportPage(body)) {
          res.status(400).json({ error: 'expected { "results": [ { "messageId": … }, … ] }' });
          return;
        }
        await tracker.ready;
        await emit(body.results);
        showIdle();
        res.status(200).json({ accepted: body.results.length });
      };
      const route = postRoute(RED, this, path!, handle, RED._('binary-sms-report.errors.noHttpRoot'));
      if (route) showIdle();
      else showProblem('binary-sms-report.status.noHttpRoot');
      return () => {
        route?.remove();
        return Promise.resolve();
      };
    };

    const startOverdueCheck = (): (() => void) => {
      const every = Math.min(Math.max(1000, overdueMs / 10), 60_000);
      const check = () => {
        tracker
          .takeOverdue(Date.now() - overdueMs)
          .then((due) => {
            for (const entry of due) {
              if (closed) return;
              this.send([null, { payload: null, messageId: entry.messageId, to: entry.to, sent: entry.sent }]);
            }
          })
          .catch((error: unknown) => this.warn(describe(error)));
      };
      const timer = setInterval(check, every);
      return () => clearInterval(timer);
    };

    const stopOverdue = overdueMs > 0 ? startOverdueCheck() : () => undefined;
    const stopReceiving = mode === 'poll' ? startPolling() : startWebhook();

    this.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      stopOverdue();
      void stopReceiving()
        .catch(() => undefined)
        .then(() => {
          account.releaseTracking(this.id);
          status.clear();
          done();
        });
    });
  }

  RED.nodes.registerType(
    'binary-sms-report',
    BinarySmsReportNode as unknown as Parameters<typeof RED.nodes.registerType>[1],
    {
      credentials: { token: { type: 'password' } },
    },
  );
};

/** Compares a presented token with the configured one in constant time. */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest();
  return crypto.timingSafeEqual(digest(presented), digest(expected));
}

function forgetOldSeen(seen: Map<string, number>, limit: number, now: number): void {
  for (const [key, at] of seen) {
    if (seen.size <= limit * 2 && now - at <= 48 * 3600 * 1000) break;
    seen.delete(key);
  }
}

/** A short, secret-free reason: the HTTP status with Infobip's text, or the network error code. */
function describe(error: unknown): string {
  if (!(error instanceof SendFailure)) return error instanceof Error ? error.message : String(error);
  const { status, detail, code } = error.params;
  if (status !== undefined) return `HTTP ${status}${detail ? `: ${detail}` : ''}`;
  return String(code ?? error.key);
}
