import { type OutputMessage, rejectedByInfobip as rejected } from '../send/outputs';
import { type SendRequest, infobipTime, partIdsOf } from '../send/request';
import { type Tracking, numberKey, sentOf } from './tracker';

/** The account's two memories of sent messages, each present only while a node needs it. */
export interface Memories {
  /** By message id, for report nodes: reports tied to what was sent, overdue, "delivery unknown" resolved later. */
  byId?: Tracking;
  /** By number, for inbound nodes: the last message sent to each number, for its reply. */
  byNumber?: Tracking;
}

/**
 * The one place that decides what the account remembers of a binary-sms node's messages, and when:
 * - **by id**: on v3 under the ids the node chose, before the request goes out (so that a report
 *   that outruns the answer, or follows a "delivery unknown", finds its message), forgotten again
 *   when Infobip rejected it or it provably was not sent; on v1 once the answer names the ids,
 *   accepted ones only. Reports, overdue and forgetting at a final report belong to this memory.
 * - **by number**: the last message Infobip accepted for each number, and on v3 also one whose
 *   delivery is unknown (it may have reached the device; its entry names its own id).
 * The input's properties are copied once per message, not once per destination.
 */
export class SendTracking {
  constructor(private readonly memories: () => Memories) {}

  /** v3, just before the request first goes out with the node's ids. */
  beforeSend(msg: object, request: SendRequest): void {
    const { byId } = this.memories();
    if (byId) trackChosenIds(byId, msg, request, undefined, false, request.parts?.length ?? 1);
  }

  /** Infobip answered with these outputs (one per destination it listed). */
  answered(request: SendRequest, outputs: OutputMessage[]): void {
    const { byId, byNumber } = this.memories();
    if (byId && !request.messageIds) trackAccepted(byId, outputs);
    if (byId && request.messageIds) {
      for (const output of outputs) {
        if (!rejected(output) || !output.messageId) continue;
        for (const id of partIdsOf(output.messageId, request.parts?.length ?? 1)) byId.forget(id);
      }
    }
    if (byNumber) trackAccepted(byNumber, outputs);
  }

  /**
   * v3: the delivery to `destinations` is unknown (no answer, an unreadable one, or no status for
   * them). Returns their ids (destination → id) for msg.messageIds.
   */
  unknown(msg: object, request: SendRequest, destinations: readonly string[]): Record<string, string> {
    const ids = request.messageIds!;
    const idOf = new Map(request.to.map((to, index) => [to, ids[index]]));
    const { byNumber } = this.memories();
    if (byNumber) trackChosenIds(byNumber, msg, request, destinations, true);
    return Object.fromEntries(destinations.map((to) => [to, idOf.get(to)!]));
  }

  /**
   * v3: these ids go once more after their answer was lost (idempotency): a REJECTED report for
   * them may be the repeat's, and waits for the original's.
   */
  resent(ids: readonly string[]): void {
    const { byId } = this.memories();
    for (const id of ids) void byId?.markResent(id);
  }

  /**
   * A scheduled bulk was cancelled: its messages are forgotten (no report comes, never overdue).
   * Returns those this memory knew, destination → id (a split message's first part's).
   */
  async cancelled(bulkId: string): Promise<Record<string, string>> {
    const { byId, byNumber } = this.memories();
    const entries = (await byId?.bulk(bulkId)) ?? [];
    const ids: Record<string, string> = {};
    for (const entry of entries) {
      byId!.forget(entry.messageId);
      ids[entry.to] = entry.part?.first ?? entry.messageId;
    }
    // A reply is not tied to a command that never went: the number forgets it, if it was its last.
    for (const [to, messageId] of Object.entries(ids)) {
      const last = await byNumber?.lookup(numberKey(to));
      if (last?.sent.messageId === messageId || last?.messageId === messageId) byNumber!.forget(numberKey(to));
    }
    return ids;
  }

  /** A scheduled bulk moved to `scheduledAt`, or was paused or resumed: its messages' overdue time follows. */
  async rescheduled(bulkId: string, change: { scheduledAt?: number; paused?: boolean }): Promise<void> {
    const { byId } = this.memories();
    const entries = (await byId?.bulk(bulkId)) ?? [];
    const now = Date.now();
    await Promise.all(
      entries.map((entry) => {
        // Resumed: it goes at its time, or now if that has passed.
        const scheduledAt = change.scheduledAt ?? Math.max(now, entry.scheduledAt ?? now);
        // Moved while paused, it stays paused.
        return byId!.reschedule(entry.messageId, { scheduledAt, paused: change.paused ?? entry.paused ?? false });
      }),
    );
  }

  /** v3: the request provably sent nothing (or was refused): its ids are forgotten. */
  notSent(request: SendRequest): void {
    const { byId } = this.memories();
    const parts = request.parts?.length ?? 1;
    for (const id of request.messageIds ?? []) for (const part of partIdsOf(id, parts)) byId?.forget(part);
  }
}

/** Remembers each accepted message under the id Infobip's answer gave it. */
function trackAccepted(tracker: Tracking, outputs: OutputMessage[]): void {
  const at = Date.now();
  for (const output of outputs) {
    if (!output.messageId || rejected(output)) continue;
    tracker.track({ messageId: output.messageId, to: output.to, sent: sentOf(output), at });
  }
}

/**
 * Remembers each destination of a v3 request (or only those in `only`) under the id the node
 * chose, all sharing one copy of the message; `withOwnId` adds msg.messageIds naming that
 * destination's own id when its entry is handed out. With `parts`, each part is an entry.
 */
function trackChosenIds(
  tracker: Tracking,
  msg: object,
  request: SendRequest,
  only?: readonly string[],
  withOwnId = false,
  parts = 1,
): void {
  const at = Date.now();
  const wanted = only && new Set(only);
  // A scheduled message: overdue counts from its time, and its bulk finds it.
  const sendAt = request.options?.sendAt;
  const scheduledAt = sendAt === undefined ? undefined : infobipTime(sendAt);
  const schedule = {
    ...(request.bulkId !== undefined ? { bulkId: request.bulkId } : {}),
    ...(scheduledAt !== undefined && scheduledAt > at ? { scheduledAt } : {}),
  };
  // One copy for every destination: each entry adds its own to and id when it is handed out.
  const { to: _to, messageId: _id, messageIds: _ids, partIds: _parts, ...common } = sentOf(msg);
  const shared = withOwnId ? 'ids' : 'to';
  request.to.forEach((to, index) => {
    if (wanted && !wanted.has(to)) return;
    const first = request.messageIds![index];
    if (parts === 1) {
      tracker.track({ messageId: first, to, sent: common, shared, at, ...schedule });
      return;
    }
    partIdsOf(first, parts).forEach((messageId, part) =>
      tracker.track({
        messageId,
        to,
        sent: common,
        shared,
        at,
        part: { index: part + 1, count: parts, first },
        ...schedule,
      }),
    );
  });
}
