import { SendResult } from './client';

export interface OutputMessage {
  payload: unknown;
  to: string;
  messageId?: string;
  bulkId?: string;
  statusCode: number;
  parts: { id: string; index: number; count: number; type: 'array'; parts?: unknown };
  [property: string]: unknown;
}

/**
 * One message per destination, in the API's order: a copy of the input carrying that
 * destination's result, with msg.parts set so a Join node in automatic mode rebuilds the list.
 */
export function responseToMessages<T extends object>(
  input: T,
  { statusCode, body: response }: SendResult,
  sequenceId: string,
  clone: (message: T) => T,
): OutputMessage[] {
  const count = response.messages.length;
  const outerParts = (input as { parts?: unknown }).parts;
  return response.messages.map((result, index) => {
    const message = (index === count - 1 ? input : clone(input)) as unknown as OutputMessage;
    message.payload = result;
    message.to = result.to;
    message.messageId = result.messageId;
    message.statusCode = statusCode;
    if (response.bulkId !== undefined) message.bulkId = response.bulkId;
    else delete message.bulkId;
    message.parts = { id: sequenceId, index, count, type: 'array' };
    if (outerParts !== undefined) message.parts.parts = outerParts;
    return message;
  });
}
