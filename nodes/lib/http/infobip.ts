// The shapes of what Infobip answers and pushes, as this package reads them (passed on untouched).

/** One entry of `messages` in Infobip's answer, passed on untouched; v1 names the number `to`, v3 `destination`. */
export interface MessageResult {
  to?: string;
  destination?: string;
  messageId?: string;
  smsCount?: number;
  status: Record<string, unknown>;
  [field: string]: unknown;
}

export interface SmsResponse {
  bulkId?: string;
  messages: MessageResult[];
}

/** One delivery report as Infobip sends it (pulled or pushed); passed on untouched. */
export interface DeliveryReport {
  messageId: string;
  to?: string;
  bulkId?: string;
  status?: { groupName?: string; name?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/** One SMS a device sent to the account's number (pulled or pushed); passed on untouched. Text only. */
export interface InboundSms {
  messageId: string;
  from?: string;
  to?: string;
  text?: string;
  cleanText?: string;
  keyword?: string;
  receivedAt?: string;
  [field: string]: unknown;
}

/**
 * One entry of Infobip's message logs (GET /sms/3/logs): what became of a message it accepted, its
 * current status included; passed on untouched.
 */
export interface LogEntry {
  messageId: string;
  destination?: string;
  bulkId?: string;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface SendResult {
  statusCode: number;
  body: SmsResponse;
}

/** A report or inbound SMS: an object with a messageId; everything else may be missing (the API says so). */
function hasMessageId(value: unknown): value is { messageId: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { messageId?: unknown }).messageId === 'string' &&
    (value as { messageId: string }).messageId !== ''
  );
}

/**
 * `{ "results": [item, …] }` of objects with a messageId, as Infobip's pages of reports
 * (GET /sms/1/reports, /sms/3/reports) and inbound SMS (GET /sms/1/inbox/reports) are, polled
 * or pushed; the rest of each item is Infobip's.
 */
export function isResultsPage<T extends { messageId: string }>(body: unknown): body is { results: T[] } {
  const results = (body as { results?: unknown } | null)?.results;
  return Array.isArray(results) && results.every(hasMessageId);
}

/** The destination an entry of an answer is for: v1 names it `to`, v3 `destination`. */
export const numberOf = (entry: MessageResult): string | undefined => entry.to ?? entry.destination;
