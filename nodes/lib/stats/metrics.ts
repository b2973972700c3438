import type { Endpoint } from '../http/client';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AccountPicture, Counts } from './stats';

/** Where the admin API serves the metrics (under httpAdminRoot), behind infobip-binary-sms.read. */
export const METRICS_PATH = '/infobip-binary-sms/metrics';

const ACCOUNT = ['account', 'account_id'] as const;
type AccountLabels = Record<(typeof ACCOUNT)[number], string>;

/** An account's labels: its name (its id when unnamed) and its id. Never a key, URL or number. */
const labelsOf = (picture: AccountPicture): AccountLabels => ({
  account: picture.unnamed ? picture.id : picture.name,
  account_id: picture.id,
});

/** Request times in seconds: Infobip answers in tens of milliseconds; a hang lasts the account's Timeout. */
const DURATION_BUCKETS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The accounts' counts and gauges in Prometheus' text format, from a registry of this package's
 * own (never prom-client's global one, which another node may use). The counts are the very ones
 * the sidebar shows, read from each account's picture when scraped; only the request-time
 * histogram is observed as requests end.
 */
export class Metrics {
  readonly registry = new Registry();
  /** The pictures of the scrape under way. */
  private pictures: AccountPicture[] = [];
  private readonly duration: Histogram<(typeof ACCOUNT)[number] | 'endpoint'>;

  constructor() {
    const count = (name: string, help: string, value: (picture: AccountPicture) => number | undefined) =>
      this.counter(name, help, [], (picture) => [[{}, value(picture)]]);
    count('infobip_sms_parts_sent_total', 'SMS parts of the destinations Infobip accepted.', (p) => p.total.parts);
    count('infobip_sms_messages_accepted_total', 'Destinations Infobip accepted.', (p) => p.total.sent);
    count(
      'infobip_sms_messages_rejected_total',
      'Destinations Infobip rejected on submission.',
      (p) => p.total.rejected,
    );
    this.counter(
      'infobip_sms_messages_failed_total',
      'Input messages that ended in an error, by its code.',
      ['code'],
      (p) => entries(p.failedBy).map(([code, value]) => [{ code }, value]),
    );
    count(
      'infobip_sms_delivery_unknown_total',
      'Input messages that ended "delivery unknown" (their answer was lost).',
      (p) => p.failedBy.unknown,
    );
    this.counter(
      'infobip_sms_lost_answers_resolved_total',
      'Destinations whose lost answer was resolved: found in the logs, or sent once more.',
      ['by'],
      (p) => [
        [{ by: 'logs' }, p.total.resolvedLogs],
        [{ by: 'resend' }, p.total.resolvedResend],
      ],
    );
    this.counter('infobip_sms_reports_total', 'Delivery reports emitted, by status group.', ['status_group'], (p) =>
      entries(p.reportsBy).map(([group, value]) => [{ status_group: group }, value]),
    );
    count('infobip_sms_reports_overdue_total', 'Messages reported overdue.', (p) => p.total.overdue);
    count('infobip_sms_replies_total', 'Replies from devices (inbound SMS) emitted.', (p) => p.total.replies);
    this.counter(
      'infobip_http_responses_total',
      "Infobip's answers by HTTP status (0: none, a timeout or a lost connection).",
      ['status'],
      (p) => entries(p.answersBy).map(([status, value]) => [{ status }, value]),
    );
    count(
      'infobip_sms_retries_total',
      'Messages tried again (nothing was sent, or a 429/503 answer).',
      (p) => p.total.retries,
    );

    const gauge = (name: string, help: string, value: (picture: AccountPicture) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ACCOUNT,
        registers: [this.registry],
        collect: function (this: Gauge<(typeof ACCOUNT)[number]>) {
          this.reset();
          for (const picture of metrics.pictures) {
            const measured = value(picture);
            if (measured !== undefined) this.set(labelsOf(picture), measured);
          }
        },
      });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect with the metric as `this`
    const metrics = this;
    gauge('infobip_sms_waiting', 'Messages waiting in the queue.', (p) => p.waiting);
    gauge('infobip_sms_in_flight', 'Requests in flight.', (p) => p.inFlight);
    gauge('infobip_sms_tracked', 'Sent messages remembered for delivery reports.', (p) => p.tracked);
    gauge('infobip_sms_tracked_numbers', 'Numbers remembered for replies.', (p) => p.trackedNumbers);
    gauge('infobip_sms_paused', "1 while Infobip's 429/503 answers pause the account, else 0.", (p) =>
      p.state === 'paused' ? 1 : 0,
    );
    gauge(
      'infobip_sms_daily_limit_used',
      'SMS parts counted against the daily limit in the last 24 hours.',
      (p) => p.daily?.used,
    );
    gauge('infobip_sms_daily_limit', 'The daily limit in SMS parts (0: none).', (p) => p.daily?.limit ?? 0);

    this.duration = new Histogram({
      name: 'infobip_http_request_duration_seconds',
      help: 'Time from sending a request to Infobip to its answer (or its failure).',
      labelNames: [...ACCOUNT, 'endpoint'],
      buckets: DURATION_BUCKETS,
      registers: [this.registry],
    });
  }

  /** The text a scraper gets, with the pictures of every account taken once. */
  async text(pictures: AccountPicture[]): Promise<string> {
    this.pictures = pictures;
    try {
      return await this.registry.metrics();
    } finally {
      this.pictures = [];
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** A request of account `id` (named `name`, empty when unnamed) to `endpoint` took `seconds`. */
  observe(id: string, name: string, endpoint: Endpoint, seconds: number): void {
    this.duration.observe({ account: name || id, account_id: id, endpoint }, seconds);
  }

  /** An account node is gone: its histogram goes too (its counts go with its picture). */
  forget(id: string, name: string): void {
    for (const endpoint of ['send', 'logs', 'reports', 'inbound'] as const)
      this.duration.remove({ account: name || id, account_id: id, endpoint });
  }

  private counter(
    name: string,
    help: string,
    labelNames: string[],
    values: (picture: AccountPicture) => [Record<string, string>, number | undefined][],
  ): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- prom-client calls collect with the metric as `this`
    const metrics = this;
    new Counter({
      name,
      help,
      labelNames: [...ACCOUNT, ...labelNames],
      registers: [this.registry],
      collect: function (this: Counter<string>) {
        this.reset();
        for (const picture of metrics.pictures) {
          for (const [labels, value] of values(picture)) this.inc({ ...labelsOf(picture), ...labels }, value ?? 0);
        }
      },
    });
  }
}

const entries = (counts: Counts): [string, number][] =>
  Object.entries(counts).filter((entry): entry is [string, number] => typeof entry[1] === 'number');
