import type { DeliveryReport } from '../http/infobip';
import { firstSightings } from '../recent';
import type { TrackedMessage, Tracker } from '../track/tracker';

/** Status groups after which no further report comes for a message. */
const FINAL_GROUPS = new Set(['DELIVERED', 'UNDELIVERABLE', 'EXPIRED', 'REJECTED']);
/**
 * Reports remembered for de-duplication, whatever the account's Track setting: Infobip repeats
 * a push that was not answered in time, over its whole 48-hour window.
 */
export const SEEN_LIMIT = 200_000;

export interface ReportMessage {
  payload: DeliveryReport;
  messageId: string;
  to?: string;
  bulkId?: string;
  delivered: boolean;
  /** No further report comes for this message (DELIVERED, UNDELIVERABLE, EXPIRED, REJECTED). */
  final: boolean;
  sent?: Record<string, unknown>;
  [property: string]: unknown;
}

export interface OverdueMessage {
  payload: null;
  messageId: string;
  to: string;
  sent: Record<string, unknown>;
  [property: string]: unknown;
}

/**
 * Turns reports into output messages, tied to what the flow sent: each report once (the same
 * messageId and status seen again within 48 hours is skipped), in the order they came.
 */
export class ReportMessages {
  private readonly firstSeen: (key: string) => boolean;
  /** Reports emitted so far. */
  count = 0;

  /**
   * `keepAfterFinal`: v3 may report a message again as its status changes (DELIVERED_TO_OPERATOR,
   * then DELIVERED_TO_HANDSET), so its memory is kept for its 48 hours; v1 forgets it at the final one.
   */
  constructor(
    private readonly tracker: Tracker,
    private readonly send: (message: ReportMessage) => void,
    private readonly keepAfterFinal = false,
    seenLimit = SEEN_LIMIT,
  ) {
    this.firstSeen = firstSightings(seenLimit);
  }

  async emit(reports: DeliveryReport[]): Promise<void> {
    const fresh = reports.filter((report) => {
      const key = `${report.messageId}\u0000${report.status?.name ?? report.status?.groupName ?? ''}`;
      return this.firstSeen(key);
    });
    await this.tracker.ready;
    const tracked = await Promise.all(fresh.map((report) => this.tracker.lookup(report.messageId)));
    fresh.forEach((report, index) => {
      const final = FINAL_GROUPS.has(String(report.status?.groupName));
      const message: ReportMessage = {
        payload: report,
        messageId: report.messageId,
        to: report.to,
        delivered: report.status?.groupName === 'DELIVERED',
        final,
      };
      if (report.bulkId !== undefined) message.bulkId = report.bulkId;
      const sent = tracked[index];
      if (sent) message.sent = sent.sent;
      this.send(message);
      if (!sent) return;
      if (final && !this.keepAfterFinal) this.tracker.forget(report.messageId);
      else void this.tracker.markReported(report.messageId);
    });
    this.count += fresh.length;
  }
}

/**
 * Checks every so often (a tenth of `overdueMs`, between 1 s and 1 min, counted from the end of
 * the last check) for tracked messages with no report after `overdueMs`, and emits each once. Returns the function that stops it.
 */
export function watchOverdue(
  tracker: Tracker,
  overdueMs: number,
  send: (message: OverdueMessage) => void,
  warn: (error: unknown) => void,
): () => void {
  let stopped = false;
  const every = Math.min(Math.max(1000, overdueMs / 10), 60_000);
  const toMessage = (entry: TrackedMessage): OverdueMessage => ({
    payload: null,
    messageId: entry.messageId,
    to: entry.to,
    sent: entry.sent,
  });
  let timer: NodeJS.Timeout | undefined;
  // The next check is armed only once the last has finished: slow checks never pile up.
  const check = () => {
    tracker
      .takeOverdue(Date.now() - overdueMs)
      .then((due) => due.forEach((entry) => !stopped && send(toMessage(entry))))
      .catch(warn)
      .finally(() => {
        if (!stopped) timer = setTimeout(check, every);
      });
  };
  timer = setTimeout(check, every);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
