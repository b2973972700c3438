import { type MessageResult, type SendResult, numberOf } from '../http/infobip';
import type { SendRequest } from './request';

export interface OutputMessage {
  payload: unknown;
  to: string;
  messageId?: string;
  bulkId?: string;
  statusCode: number;
  parts: { id: string; index: number; count: number; type: 'array'; parts?: unknown };
  [property: string]: unknown;
}

export interface Outputs {
  /** One message per requested destination that Infobip listed, in Infobip's order. */
  messages: OutputMessage[];
  /** Requested destinations Infobip gave no status for: their delivery is unknown. */
  missing: string[];
  /** Entries for numbers that were not requested, or listed again; not emitted. */
  unexpected: string[];
}

/**
 * Matches Infobip's answer to the destinations sent: each requested destination it lists gets
 * one message (a copy of the input carrying that destination's result, with msg.parts set so a
 * Join node in automatic mode rebuilds the list). Only what an output keeps is copied: never
 * the input's payload or its (possibly long) list of destinations.
 */
export function responseToMessages<T extends object>(
  input: T,
  requested: readonly string[],
  { statusCode, body: response }: SendResult,
  sequenceId: string,
  clone: (message: T) => T,
  messageIds?: readonly string[],
): Outputs {
  const wanted = new Set(requested);
  // Where the node chose the ids (v3), an entry is matched by its id first, then by number.
  const byId = new Map(messageIds?.map((id, index) => [id, requested[index]]));
  const listed: { result: MessageResult; to: string }[] = [];
  const unexpected: string[] = [];
  for (const result of response.messages) {
    const to = (result.messageId !== undefined ? byId.get(result.messageId) : undefined) ?? numberOf(result) ?? '';
    if (wanted.delete(to)) listed.push({ result, to });
    else unexpected.push(to || String(result.messageId));
  }
  const missing = requested.filter((number) => wanted.has(number));

  const template = { ...input } as T & { payload?: unknown; to?: unknown };
  delete template.payload;
  delete template.to;
  const count = listed.length;
  const messages = listed.map(({ result, to }, index) => {
    // The input itself becomes the last output, unless it is still needed for the error.
    const reuseInput = index === count - 1 && missing.length === 0;
    const message = (reuseInput ? input : clone(template)) as unknown as OutputMessage;
    const outerParts = message.parts;
    message.payload = result;
    message.to = to;
    message.messageId = result.messageId;
    message.statusCode = statusCode;
    if (response.bulkId !== undefined) message.bulkId = response.bulkId;
    else delete message.bulkId;
    message.parts = { id: sequenceId, index, count, type: 'array' };
    if (outerParts !== undefined) message.parts.parts = outerParts;
    return message;
  });
  return { messages, missing, unexpected };
}

/**
 * Each request's part of the answer to several requests sent in one: entries go to the request
 * whose id they carry (the ids are the node's own), else to the first request with that number.
 * An entry that belongs to none goes to the first request, whose node then warns about it.
 */
export function splitAnswer(requests: readonly SendRequest[], result: SendResult): SendResult[] {
  if (requests.length === 1) return [result];
  const owner = new Map<string, number>();
  requests.forEach((request, index) => request.messageIds?.forEach((id) => owner.set(id, index)));
  const parts = requests.map((): MessageResult[] => []);
  for (const entry of result.body.messages) {
    let index = entry.messageId !== undefined ? owner.get(entry.messageId) : undefined;
    if (index === undefined) {
      const number = numberOf(entry) ?? '';
      index = Math.max(
        0,
        requests.findIndex((request) => request.to.includes(number)),
      );
    }
    parts[index].push(entry);
  }
  const { bulkId } = result.body;
  return parts.map((messages) => ({
    statusCode: result.statusCode,
    body: bulkId === undefined ? { messages } : { bulkId, messages },
  }));
}
