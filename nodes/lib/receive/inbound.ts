import type { InboundSms } from '../http/infobip';
import { SEEN_LIMIT } from './reports';
import { type Sightings, ownSightings } from '../shared/seen';
import { type Tracking, numberKey } from '../track/tracker';

/** One output message per inbound SMS. */
export interface InboundMessage {
  /** The text, as Infobip gives it (inbound SMS reach the API as text only). */
  payload: string;
  messageId: string;
  /** The device's number. */
  from?: string;
  /** The account's number the device wrote to. */
  to?: string;
  receivedAt?: string;
  keyword?: string;
  cleanText?: string;
  /** Infobip's object, untouched. */
  inbound: InboundSms;
  /** What the flow last sent to `from` through the account, within the reply window. */
  sent?: Record<string, unknown>;
  [property: string]: unknown;
}

/**
 * Turns inbound SMS into output messages, each tied to what the flow last sent to its number
 * within the reply window: each messageId once (Infobip repeats a push that was not answered in
 * time), in the order they came.
 */
export class InboundMessages {
  private readonly firstSeen: Sightings;
  /** Inbound SMS emitted so far. */
  count = 0;

  /**
   * `lastSent`: the account's tracking by number, absent when the reply window is off.
   * `replyWindowMs`: how long after a send a reply from its number is still tied to it.
   */
  constructor(
    private readonly lastSent: Tracking | undefined,
    private readonly replyWindowMs: number,
    private readonly send: (message: InboundMessage) => void,
    /** Shared by the account's copies when they share state; else this node's own. */
    sightings?: Sightings,
  ) {
    this.firstSeen = sightings ?? ownSightings(SEEN_LIMIT);
  }

  async emit(items: InboundSms[]): Promise<void> {
    const firsts = await Promise.all(items.map((sms) => this.firstSeen(sms.messageId)));
    const fresh = items.filter((_sms, index) => firsts[index]);
    const tracker = this.lastSent;
    if (tracker) await tracker.ready;
    const asked = await Promise.all(
      fresh.map((sms) =>
        tracker && typeof sms.from === 'string' ? tracker.lookup(numberKey(sms.from)) : Promise.resolve(undefined),
      ),
    );
    fresh.forEach((sms, index) => {
      const message: InboundMessage = {
        payload: typeof sms.text === 'string' ? sms.text : '',
        messageId: sms.messageId,
        inbound: sms,
      };
      for (const field of ['from', 'to', 'receivedAt', 'keyword', 'cleanText'] as const) {
        if (typeof sms[field] === 'string') message[field] = sms[field];
      }
      const sent = asked[index];
      if (sent && withinReplyWindow(receivedAfter(sms, sent.at), this.replyWindowMs)) message.sent = sent.sent;
      this.count++;
      this.send(message);
    });
  }
}

/**
 * How far Infobip's clock (receivedAt) and this machine's (when a message was sent) may disagree:
 * a reply received this much "before" its command still answers it.
 */
export const CLOCK_TOLERANCE_MS = 30_000;

/** A reply answers a command only when received after it (within the clocks' tolerance) and within the window. */
const withinReplyWindow = (afterMs: number, windowMs: number) => afterMs >= -CLOCK_TOLERANCE_MS && afterMs <= windowMs;

/** How long after `sentAt` (epoch ms) the SMS was received: by its receivedAt, else by now. */
function receivedAfter(sms: InboundSms, sentAt: number): number {
  const received = typeof sms.receivedAt === 'string' ? Date.parse(sms.receivedAt) : NaN;
  return (Number.isFinite(received) ? received : Date.now()) - sentAt;
}
