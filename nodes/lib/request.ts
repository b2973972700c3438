import { SmsError, preview } from './errors';
import { payloadToHex } from './payload';
import { cleanDestination, isValidSender, parseByteValue, splitDestinations } from './rules';

/** What the editor stores on a binary-sms node; all optional fields may be empty strings. */
export interface NodeSettings {
  from?: string;
  to?: string;
  dataCoding?: string | number;
  esmClass?: string | number;
}

/** The JSON body of POST /sms/1/binary/single. */
export interface SendRequest {
  from?: string;
  to: string[];
  binary: { hex: string; dataCoding: number; esmClass: number };
}

interface MessageFields {
  payload?: unknown;
  to?: unknown;
  from?: unknown;
  dataCoding?: unknown;
  esmClass?: unknown;
}

/** Validates a message against the node's settings; throws an SmsError naming the first bad field. */
export function buildRequest(msg: MessageFields, settings: NodeSettings): SendRequest {
  const to = destinations(msg.to, settings.to ?? '');
  const from = sender(msg.from, settings.from ?? '');
  const dataCoding = byteSetting('dataCoding', msg.dataCoding, settings.dataCoding);
  const esmClass = byteSetting('esmClass', msg.esmClass, settings.esmClass);
  const hex = payloadToHex(msg.payload);
  const request: SendRequest = { to, binary: { hex, dataCoding, esmClass } };
  if (from !== undefined) request.from = from;
  return request;
}

/** Every invalid setting of a binary-sms node, in dialog order; checked when the node starts. */
export function checkNodeSettings(settings: NodeSettings): SmsError[] {
  const problems: SmsError[] = [];
  const check = (validate: () => unknown) => {
    try {
      validate();
    } catch (error) {
      if (error instanceof SmsError) problems.push(error);
      else throw error;
    }
  };
  check(() => sender(undefined, settings.from ?? ''));
  if ((settings.to ?? '').trim() !== '') check(() => destinations(undefined, settings.to ?? ''));
  check(() => byteSetting('dataCoding', undefined, settings.dataCoding));
  check(() => byteSetting('esmClass', undefined, settings.esmClass));
  return problems;
}

function destinations(fromMessage: unknown, fromSettings: string): string[] {
  let candidates: unknown[];
  let field: string;
  if (fromMessage === undefined || fromMessage === null) {
    candidates = splitDestinations(fromSettings);
    field = 'node.to';
    if (candidates.length === 0) throw new SmsError('toMissing');
  } else {
    field = 'msg.to';
    if (typeof fromMessage === 'string') candidates = splitDestinations(fromMessage);
    else if (typeof fromMessage === 'number') candidates = [fromMessage];
    else if (Array.isArray(fromMessage)) candidates = fromMessage;
    else throw new SmsError('toType', { type: typeof fromMessage });
    if (candidates.length === 0) throw new SmsError('toEmpty');
  }
  const numbers = new Set<string>();
  for (const candidate of candidates) {
    const text = typeof candidate === 'number' && Number.isInteger(candidate) ? String(candidate) : candidate;
    if (typeof text !== 'string') throw new SmsError('toType', { type: typeof candidate });
    const cleaned = cleanDestination(text);
    if (!cleaned.ok) throw new SmsError('toInvalid', { field, value: text });
    numbers.add(cleaned.value);
  }
  return [...numbers];
}

function sender(fromMessage: unknown, fromSettings: string): string | undefined {
  if (fromMessage === undefined || fromMessage === null) {
    if (fromSettings === '') return undefined;
    if (!isValidSender(fromSettings)) throw new SmsError('fromInvalid', { field: 'node.from', value: fromSettings });
    return fromSettings;
  }
  const text = typeof fromMessage === 'number' ? String(fromMessage) : fromMessage;
  if (typeof text !== 'string' || !isValidSender(text)) {
    throw new SmsError('fromInvalid', { field: 'msg.from', value: preview(fromMessage) });
  }
  return text;
}

function byteSetting(name: 'dataCoding' | 'esmClass', fromMessage: unknown, fromSettings: unknown): number {
  const useMessage = fromMessage !== undefined && fromMessage !== null;
  const value = useMessage ? fromMessage : fromSettings === undefined || fromSettings === '' ? 0 : fromSettings;
  const parsed = parseByteValue(value);
  if (parsed === undefined) {
    throw new SmsError('byteValue', { field: `${useMessage ? 'msg' : 'node'}.${name}`, value: preview(value) });
  }
  return parsed;
}
