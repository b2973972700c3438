import type { InfobipClient } from '../http/client';
import { type MessageResult, type SendResult, numberOf } from '../http/infobip';
import { SendFailure } from '../errors';
import { type SendRequest, messageCount, partIdOf, requestBody } from './request';

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

/** Whether Infobip refused this output's destination on submission (its status group REJECTED). */
export const rejectedByInfobip = (message: OutputMessage): boolean =>
  (message.payload as MessageResult | undefined)?.status?.groupName === 'REJECTED';

/**
 * Matches Infobip's answer to the destinations sent: each requested destination it lists gets
 * one message (a copy of the input carrying that destination's result, with msg.parts set so a
 * Join node in automatic mode rebuilds the list). Only what an output keeps is copied: never
 * the input's payload or its (possibly long) list of destinations. A payload split into `parts`
 * has an entry per part and destination: a destination is listed once all its parts are, its
 * message then carries msg.partIds and msg.partEntries, and msg.payload is the first part's
 * entry, or the first rejected part's.
 */
export function responseToMessages<T extends object>(
  input: T,
  requested: readonly string[],
  { statusCode, body: response }: SendResult,
  sequenceId: string,
  clone: (message: T) => T,
  messageIds?: readonly string[],
  parts = 1,
): Outputs {
  // Each destination's entry, or entries by part; where the node chose the ids (v3), an entry is
  // matched by its id first, then by number (to its first part without one). A one-part message
  // keeps its entry itself, not in an array: a fan-out to 10,000 numbers makes no 10,000 arrays.
  type Slot = MessageResult | undefined | (MessageResult | undefined)[];
  const slots = new Map<string, Slot>(requested.map((to) => [to, parts > 1 ? new Array(parts) : undefined]));
  const byId = new Map<string, [string, number]>();
  messageIds?.forEach((id, index) => {
    for (let part = 1; part <= parts; part++) byId.set(partIdOf(id, part), [requested[index], part - 1]);
  });
  const freeIndex = (slot: Slot) =>
    Array.isArray(slot) ? slot.findIndex((entry) => entry === undefined) : slot === undefined ? 0 : -1;
  const listedOrder = new Set<string>();
  const unexpected: string[] = [];
  for (const result of response.messages) {
    const known = result.messageId !== undefined ? byId.get(result.messageId) : undefined;
    const to = known?.[0] ?? numberOf(result) ?? '';
    const slot = slots.get(to);
    const index = !slots.has(to) ? -1 : known ? known[1] : freeIndex(slot);
    const taken = Array.isArray(slot) ? slot[index] !== undefined : slot !== undefined;
    if (index < 0 || taken) {
      unexpected.push(to || String(result.messageId));
      continue;
    }
    if (Array.isArray(slot)) slot[index] = result;
    else slots.set(to, result);
    listedOrder.add(to);
  }
  const entriesOf = (to: string): (MessageResult | undefined)[] => {
    const slot = slots.get(to);
    return Array.isArray(slot) ? slot : [slot];
  };
  const complete = (to: string) => !entriesOf(to).includes(undefined);
  const missing = requested.filter((number) => !complete(number));
  const listed = [...listedOrder].filter(complete);

  const template = { ...input } as T & { payload?: unknown; to?: unknown };
  delete template.payload;
  delete template.to;
  const count = listed.length;
  const messages = listed.map((to, index) => {
    const entries = entriesOf(to) as MessageResult[];
    // The input itself becomes the last output, unless it is still needed for the error.
    const reuseInput = index === count - 1 && missing.length === 0;
    const message = (reuseInput ? input : clone(template)) as unknown as OutputMessage;
    const outerParts = message.parts;
    message.payload = entries.find((entry) => entry.status?.groupName === 'REJECTED') ?? entries[0];
    message.to = to;
    message.messageId = entries[0].messageId;
    if (parts > 1) {
      message.partIds = entries.map((entry) => entry.messageId);
      message.partEntries = entries;
    }
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
  requests.forEach((request, index) =>
    request.messageIds?.forEach((id) => {
      for (let part = 1; part <= (request.parts?.length ?? 1); part++) owner.set(partIdOf(id, part), index);
    }),
  );
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

/**
 * Sends the requests in one HTTP request (several only on v3) and returns each one's part of the
 * answer, in their order. A 400 that names messages by index carries each request's own failure
 * in `refused`.
 */
export async function sendRequests(
  client: Pick<InfobipClient, 'api' | 'send'>,
  requests: SendRequest[],
  controller?: AbortController,
): Promise<SendResult[]> {
  try {
    return splitAnswer(requests, await client.send(requestBody(requests, client.api), controller));
  } catch (error) {
    if (error instanceof SendFailure && error.refused) error.refused = byRequest(error.refused, requests);
    throw error;
  }
}

/**
 * A 400's refusals by the body's message index turned into refusals by request: a split payload
 * is several of the body's messages (a resend only those of the parts it sends), and a refused
 * part refuses its whole request.
 */
function byRequest(refused: Map<number, SendFailure>, requests: readonly SendRequest[]): Map<number, SendFailure> {
  if (!requests.some((request) => request.parts || request.only)) return refused;
  const requestOf = requests.flatMap((request, index) => new Array<number>(messageCount(request)).fill(index));
  const mapped = new Map<number, SendFailure>();
  for (const [message, failure] of [...refused].sort(([a], [b]) => a - b)) {
    const index = requestOf[message];
    if (index !== undefined && !mapped.has(index)) mapped.set(index, failure);
  }
  return mapped;
}
