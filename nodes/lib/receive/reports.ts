import type { DeliveryReport } from '../http/infobip';
import { partIdsOf } from '../send/request';
import { type Sightings, ownSightings } from '../shared/seen';
import type { TrackedMessage, Tracking } from '../track/tracker';

/** Status groups after which no further report comes for a message. */
const FINAL_GROUPS = new Set(['DELIVERED', 'UNDELIVERABLE', 'EXPIRED', 'REJECTED']);
/**
 * Reports remembered for de-duplication, whatever the account's Track setting: Infobip repeats
 * a push that was not answered in time, over its whole 48-hour window.
 */
export const SEEN_LIMIT = 200_000;
/** How long a REJECTED report of a resent message waits for the original's report when the node has no Overdue. */
export const REPEAT_HOLD_MS = 60_000;

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
  /** A split message: the 1-based indexes of its parts without a final report. */
  missingParts?: number[];
  [property: string]: unknown;
}

/**
 * What a report node emits for the parts of a split message: `whole`, one message per
 * destination once every part has a final report (again only when the whole's status changes);
 * `each`, every part's report with msg.smsPart.
 */
export type PartsMode = 'whole' | 'each';

/**
 * Turns reports into output messages, tied to what the flow sent: each report once (the same
 * messageId and status seen again within 48 hours is skipped), in the order they came.
 */
export class ReportMessages {
  private readonly firstSeen: Sightings;
  /** Parts are assembled one report at a time: two parts' reports never miss each other. */
  private assembling: Promise<void> = Promise.resolve();
  /** Reports emitted so far. */
  count = 0;
  /** REJECTED reports of resent messages, waiting for a report of the original (by message id). */
  private readonly heldRepeats = new Map<string, { report: DeliveryReport; timer: NodeJS.Timeout }>();

  /**
   * `keepAfterFinal`: v3 may report a message again as its status changes (DELIVERED_TO_OPERATOR,
   * then DELIVERED_TO_HANDSET), so its memory is kept for its 48 hours; v1 forgets it at the final one.
   */
  constructor(
    private readonly tracker: Tracking,
    private readonly send: (message: ReportMessage) => void,
    private readonly keepAfterFinal = false,
    private readonly parts: PartsMode = 'each',
    seenLimit = SEEN_LIMIT,
    /** Shared by the account's copies when they share state; else this node's own. */
    sightings?: Sightings,
    /** How long a REJECTED report of a resent message waits for the original's (the node's Overdue). */
    private readonly repeatHoldMs = REPEAT_HOLD_MS,
  ) {
    this.firstSeen = sightings ?? ownSightings(seenLimit);
  }

  /** Emits what is held at once (the node closes), unless the original's report came meanwhile. */
  async stop(): Promise<void> {
    const held = [...this.heldRepeats.values()];
    this.heldRepeats.clear();
    held.forEach(({ timer }) => clearTimeout(timer));
    await Promise.all(held.map(({ report }) => this.release(report)));
  }

  async emit(reports: DeliveryReport[]): Promise<void> {
    const firsts = await Promise.all(
      reports.map((report) =>
        this.firstSeen(`${report.messageId}\u0000${report.status?.name ?? report.status?.groupName ?? ''}`),
      ),
    );
    const fresh = reports.filter((_report, index) => firsts[index]);
    await this.tracker.ready;
    const tracked = await Promise.all(fresh.map((report) => this.tracker.lookup(report.messageId)));
    const passing = await Promise.all(fresh.map((report, index) => this.passes(report, tracked[index])));
    await this.deliver(
      fresh.filter((_report, index) => passing[index]),
      tracked.filter((_sent, index) => passing[index]),
    );
  }

  /**
   * Whether a report goes on now. A message sent twice with its id (idempotency, after its answer
   * was lost) may get a REJECTED report for the repeat, before or after the original's: such a
   * report waits `repeatHoldMs` and is dropped if a report other than REJECTED comes for the id.
   */
  private async passes(report: DeliveryReport, sent: TrackedMessage | undefined): Promise<boolean> {
    if (!sent?.resent) return true;
    const id = report.messageId;
    if (report.status?.groupName !== 'REJECTED') {
      const held = this.heldRepeats.get(id);
      if (held) clearTimeout(held.timer);
      this.heldRepeats.delete(id);
      await this.tracker.markAcceptedReport(id);
      return true;
    }
    // A report that came before (the original's, perhaps before the resend) makes this the repeat's.
    if (sent.acceptedReport || sent.reported || this.heldRepeats.has(id)) return false;
    // Never overdue while it waits: a report came.
    void this.tracker.markReported(id);
    const timer = setTimeout(() => {
      this.heldRepeats.delete(id);
      void this.release(report);
    }, this.repeatHoldMs);
    this.heldRepeats.set(id, { report, timer });
    return false;
  }

  /** A held REJECTED report whose time is up: emitted, unless the original's report came meanwhile (through any copy). */
  private async release(report: DeliveryReport): Promise<void> {
    const sent = await this.tracker.entry(report.messageId);
    if (sent?.acceptedReport) return;
    await this.deliver([report], [sent]);
  }

  private async deliver(fresh: DeliveryReport[], tracked: (TrackedMessage | undefined)[]): Promise<void> {
    this.count += fresh.length;
    const parts: [DeliveryReport, TrackedMessage][] = [];
    fresh.forEach((report, index) => {
      const sent = tracked[index];
      const final = FINAL_GROUPS.has(String(report.status?.groupName));
      if (sent?.part && this.parts === 'whole') {
        if (final) parts.push([report, sent]);
        return;
      }
      const message = reportMessage(report, final, sent);
      if (sent?.part) message.smsPart = { index: sent.part.index, count: sent.part.count };
      this.send(message);
      if (!sent) return;
      if (sent.part) {
        // A part is settled by its final report only: until then it may still be overdue.
        if (final) void this.tracker.markReported(report.messageId, report);
      } else if (final && !this.keepAfterFinal) this.tracker.forget(report.messageId);
      else void this.tracker.markReported(report.messageId);
    });
    if (parts.length === 0) return;
    const done = this.assembling.then(async () => {
      for (const [report, sent] of parts) await this.assemble(report, sent);
    });
    this.assembling = done.catch(() => undefined);
    await done;
  }

  /** Notes a part's final report; once every part has one, emits the whole message (again only when its status changed). */
  private async assemble(report: DeliveryReport, sent: TrackedMessage): Promise<void> {
    const { first, count } = sent.part!;
    await this.tracker.markReported(report.messageId, report);
    // The parts are read once, when the last has its report (not on every part's report).
    const reported = await this.tracker.partsReported(first, sent.part!.index, count);
    if (reported !== undefined && reported < count) return;
    const ids = partIdsOf(first, count);
    const entries = await Promise.all(ids.map((id) => this.tracker.entry(id)));
    const reports = entries.map((entry) => entry?.report as DeliveryReport | undefined);
    if (!reports.every((part) => part !== undefined)) return;
    const deciding = reports.find((part) => part.status?.groupName !== 'DELIVERED') ?? reports[count - 1];
    const combined = String(deciding.status?.groupName);
    // Several copies may assemble the same message at once: the one that records the status emits it.
    if (!(await this.tracker.setCombined(first, combined))) return;
    const message = reportMessage(deciding, true, sent);
    message.messageId = first;
    message.to = sent.to;
    message.partReports = reports;
    this.send(message);
    if (!this.keepAfterFinal) ids.forEach((id) => this.tracker.forget(id));
  }
}

function reportMessage(report: DeliveryReport, final: boolean, sent?: TrackedMessage): ReportMessage {
  const message: ReportMessage = {
    payload: report,
    messageId: report.messageId,
    to: report.to,
    delivered: report.status?.groupName === 'DELIVERED',
    final,
  };
  if (report.bulkId !== undefined) message.bulkId = report.bulkId;
  if (sent) message.sent = sent.sent;
  return message;
}

/**
 * Checks every so often (a tenth of `overdueMs`, between 1 s and 1 min, counted from the end of
 * the last check) for tracked messages with no report after `overdueMs`, and emits each once. Returns the function that stops it.
 */
export function watchOverdue(
  tracker: Tracking,
  overdueMs: number,
  send: (message: OverdueMessage) => void,
  warn: (error: unknown) => void,
): () => void {
  let stopped = false;
  const every = Math.min(Math.max(1000, overdueMs / 10), 60_000);
  let timer: NodeJS.Timeout | undefined;
  // The next check is armed only once the last has finished: slow checks never pile up.
  const check = () => {
    tracker
      .takeOverdue(Date.now() - overdueMs)
      .then((due) => overdueMessages(due).forEach((message) => !stopped && send(message)))
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

/** One message per overdue message: the parts of a split one (all due at once: they were sent together) become one. */
function overdueMessages(due: TrackedMessage[]): OverdueMessage[] {
  const messages = new Map<string, OverdueMessage>();
  for (const entry of due) {
    const messageId = entry.part?.first ?? entry.messageId;
    const known = messages.get(messageId);
    if (known) {
      known.missingParts!.push(entry.part!.index);
      continue;
    }
    const message: OverdueMessage = { payload: null, messageId, to: entry.to, sent: entry.sent };
    if (entry.part) message.missingParts = [entry.part.index];
    messages.set(messageId, message);
  }
  return [...messages.values()];
}
