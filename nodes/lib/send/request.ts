import { SmsError, preview } from '../errors';
import { anyToBytes, bytesToHex, payloadToBytes } from './payload';
import {
  Api,
  type Check,
  LONG_PAYLOADS,
  type LongPayload,
  SMS_NUMBERS,
  cleanDestination,
  isUcs2,
  isValidSender,
  parseByteValue,
  parseSmsNumber,
  parseValidity,
  splitDestinations,
  withMessageClass,
} from '../rules';
import { type LongOptions, layOut } from './udh';

/** What the editor stores on a binary-sms node; all optional fields may be empty strings. */
export interface NodeSettings {
  from?: string;
  to?: string;
  dataCoding?: string | number;
  esmClass?: string | number;
  /** Minutes the message stays worth delivering (v3); empty = Infobip's default of 48 h. */
  validity?: string | number;
  /** What a payload that does not fit one SMS becomes; saved without it: `asIs`. */
  longPayload?: string;
  /** Parts a split payload may need at most; empty = 10. */
  maxParts?: string | number;
  /** Bits of the concatenation reference: 8 (default) or 16. */
  concatRef?: string | number;
  /** 16-bit application ports; empty = none (the source port defaults to 0). */
  destinationPort?: string | number;
  sourcePort?: string | number;
  /** TS 23.038 message class 0–3; empty = none. */
  messageClass?: string | number;
}

/** What v3 lets a message say beyond v1. */
export interface MessageOptions {
  validityPeriod?: { amount: number; timeUnit: 'SECONDS' | 'MINUTES' };
  /** ISO 8601 with offset, as Infobip writes it: 2026-12-01T08:00:00.000+0000. */
  sendAt?: string;
  callbackData?: string;
  flash?: boolean;
}

/** One message to send, the same for both APIs; the client writes it as the account's API wants it. */
export interface SendRequest {
  from?: string;
  to: string[];
  binary: { hex: string; dataCoding: number; esmClass: number };
  /**
   * The hex of every part, in order, when the payload was split into a concatenated SMS (v3
   * only); `binary.hex` is then the first part's. Each part goes as a message of its own.
   */
  parts?: string[];
  options?: MessageOptions;
  /**
   * The message id this node chose for each destination, in the order of `to` (v3 only); for a
   * split payload, the first part's (see partIdOf).
   */
  messageIds?: string[];
  /** Where Infobip should push this message's delivery reports (v3 only). */
  reportUrl?: string;
  /**
   * A resend after a lost answer: only the parts whose ids are here go (each with its id); a
   * destination or part not in it is left out of the body.
   */
  only?: ReadonlySet<string>;
  /** The input message, for remembering what was sent; never part of the body. */
  source?: object;
  /** When (epoch ms) its last attempt went out (the one whose answer may be lost). */
  sentAt?: number;
  /** A resend after a lost answer must start by then (epoch ms), within Infobip's grace period; else it is not sent. */
  startBy?: number;
  /**
   * A scheduled message's bulk (v3): its own, or the one `msg.bulkId` names, so that it can be
   * checked, cancelled, paused, resumed or moved alone. Requests of different bulks never share a body.
   */
  bulkId?: string;
}

/** What a control message (msg.schedule) asks of a scheduled bulk. */
export const BULK_ACTIONS = ['status', 'cancel', 'pause', 'resume', 'reschedule'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];

export interface BulkControl {
  action: BulkAction;
  bulkId: string;
  /** reschedule: the new time, as Infobip writes it. */
  sendAt?: string;
}

/** The longest bulk id Infobip takes. */
const BULK_ID_LENGTH = 100;

interface MessageFields {
  payload?: unknown;
  to?: unknown;
  from?: unknown;
  dataCoding?: unknown;
  esmClass?: unknown;
  validity?: unknown;
  sendAt?: unknown;
  callbackData?: unknown;
  flash?: unknown;
  destinationPort?: unknown;
  sourcePort?: unknown;
  messageClass?: unknown;
  udh?: unknown;
  bulkId?: unknown;
  schedule?: unknown;
}

/** How far ahead Infobip schedules at most, and how late a sendAt may be before it is refused. */
const SCHEDULE_AHEAD_MS = 180 * 24 * 3600 * 1000;
const SCHEDULE_PAST_MS = 60 * 1000;
const CALLBACK_DATA_LENGTH = 4000;

/**
 * Validates a message against the node's settings; throws an SmsError naming the first bad field.
 * On a v1 account, a message that uses what only v3 offers is refused, never silently cut down.
 */
export function buildRequest(
  msg: MessageFields,
  settings: NodeSettings,
  api: Api = 'v1',
  now = Date.now(),
  reference: () => number = sharedReferences,
): SendRequest {
  const to = destinations(msg.to, settings.to ?? '');
  const from = sender(msg.from, settings.from ?? '');
  const messageClass = smsNumber('messageClass', msg.messageClass, settings.messageClass);
  const coding = byteSetting('dataCoding', msg.dataCoding, settings.dataCoding);
  const dataCoding = messageClass === undefined ? coding : classCoding(coding, messageClass);
  const options = messageOptions(msg, settings, now);
  const layout = layOut(
    payloadToBytes(msg.payload),
    byteSetting('esmClass', msg.esmClass, settings.esmClass),
    longOptions(msg, settings, api, dataCoding, reference),
  );
  const hexParts = layout.parts.map(bytesToHex);
  const request: SendRequest = { to, binary: { hex: hexParts[0], dataCoding, esmClass: layout.esmClass } };
  // A scheduled message's own bulk, unless the input names one.
  if (options?.sendAt !== undefined && msg.bulkId !== undefined && msg.bulkId !== null) {
    request.bulkId = bulkIdOf(msg.bulkId);
  }
  if (hexParts.length > 1) request.parts = hexParts;
  if (from !== undefined) request.from = from;
  if (options) {
    if (api !== 'v3') {
      const fields = Object.keys(options).map((option) =>
        option === 'validityPeriod' && (msg.validity === undefined || msg.validity === null)
          ? "the node's Valid for"
          : fieldOf(option),
      );
      throw new SmsError('needsV3', { fields: fields.join(', ') });
    }
    request.options = options;
  }
  return request;
}

/** msg.bulkId: a string of 1–100 characters. */
function bulkIdOf(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > BULK_ID_LENGTH) {
    throw new SmsError(value === undefined || value === '' ? 'bulkIdMissing' : 'bulkIdValue', {
      value: preview(value),
    });
  }
  return value;
}

/**
 * A control message for a scheduled bulk (msg.schedule, v3 only): what it asks, of which bulk,
 * and for reschedule the new time under the same rules as sending. Throws naming the bad field.
 */
export function buildControl(msg: MessageFields, api: Api, now = Date.now()): BulkControl {
  if (api !== 'v3') throw new SmsError('needsV3', { fields: 'msg.schedule' });
  const action = msg.schedule as BulkAction;
  if (typeof action !== 'string' || !BULK_ACTIONS.includes(action)) {
    throw new SmsError('scheduleValue', { value: preview(msg.schedule) });
  }
  const bulkId = bulkIdOf(msg.bulkId ?? '');
  if (action !== 'reschedule') return { action, bulkId };
  if (msg.sendAt === undefined || msg.sendAt === null)
    throw new SmsError('sendAtValue', { value: preview(msg.sendAt) });
  return { action, bulkId, sendAt: sendAt(msg.sendAt, now) };
}

const OPTION_FIELDS: Record<keyof MessageOptions, string> = {
  validityPeriod: 'validity',
  sendAt: 'sendAt',
  callbackData: 'callbackData',
  flash: 'flash',
};
const fieldOf = (option: string) => `msg.${OPTION_FIELDS[option as keyof MessageOptions]}`;

function messageOptions(msg: MessageFields, settings: NodeSettings, now: number): MessageOptions | undefined {
  const options: MessageOptions = {};
  const minutes = validity(msg.validity, settings.validity);
  if (minutes !== undefined) {
    options.validityPeriod = Number.isInteger(minutes)
      ? { amount: minutes, timeUnit: 'MINUTES' }
      : { amount: Math.round(minutes * 60), timeUnit: 'SECONDS' };
  }
  if (msg.sendAt !== undefined && msg.sendAt !== null) options.sendAt = sendAt(msg.sendAt, now);
  if (msg.callbackData !== undefined && msg.callbackData !== null) {
    if (typeof msg.callbackData !== 'string' || msg.callbackData.length > CALLBACK_DATA_LENGTH) {
      throw new SmsError('callbackDataValue', { value: preview(msg.callbackData) });
    }
    options.callbackData = msg.callbackData;
  }
  if (msg.flash !== undefined && msg.flash !== null) {
    if (typeof msg.flash !== 'boolean') throw new SmsError('flashValue', { value: preview(msg.flash) });
    options.flash = msg.flash;
  }
  return Object.keys(options).length > 0 ? options : undefined;
}

/** A counter of concatenation references from a random start: a restart does not reuse the last ones. */
export function referenceCounter(): () => number {
  let next = Math.floor(Math.random() * 0x10000);
  return () => (next = (next + 1) & 0xffff);
}
const sharedReferences = referenceCounter();

function longOptions(
  msg: MessageFields,
  settings: NodeSettings,
  api: Api,
  dataCoding: number,
  reference: () => number,
): LongOptions {
  const destination = smsNumber('destinationPort', msg.destinationPort, settings.destinationPort);
  const source = smsNumber('sourcePort', msg.sourcePort, settings.sourcePort);
  if (source !== undefined && destination === undefined) throw new SmsError('sourceWithoutDestination');
  const options: LongOptions = {
    mode: longPayloadMode(settings.longPayload),
    maxParts: smsNumber('maxParts', undefined, settings.maxParts) ?? DEFAULT_MAX_PARTS,
    referenceBits: referenceBits(settings.concatRef),
    ucs2: isUcs2(dataCoding),
    canSplit: api === 'v3',
    reference,
  };
  if (destination !== undefined) options.ports = { destination, source: source ?? 0 };
  if (msg.udh !== undefined && msg.udh !== null) {
    try {
      options.header = anyToBytes(msg.udh);
    } catch {
      throw new SmsError('udhValue', { value: preview(msg.udh) });
    }
  }
  return options;
}

const DEFAULT_MAX_PARTS = 10;

function classCoding(dataCoding: number, messageClass: number): number {
  const coding = withMessageClass(dataCoding, messageClass);
  if (coding === undefined) throw new SmsError('messageClassCoding', { dataCoding, messageClass });
  return coding;
}

function longPayloadMode(value: unknown): LongPayload {
  if (value === undefined || value === '') return 'asIs';
  if (LONG_PAYLOADS.includes(value as LongPayload)) return value as LongPayload;
  throw new SmsError('choiceValue', { field: 'node.longPayload', value: preview(value) });
}

function referenceBits(value: unknown): 8 | 16 {
  if (value === undefined || value === '' || value === '8' || value === 8) return 8;
  if (value === '16' || value === 16) return 16;
  throw new SmsError('choiceValue', { field: 'node.concatRef', value: preview(value) });
}

/** A whole number within SMS_NUMBERS' bounds, from the message or else the node; undefined when neither sets it. */
function smsNumber(name: keyof typeof SMS_NUMBERS, fromMessage: unknown, fromSettings: unknown): number | undefined {
  const { min, max } = SMS_NUMBERS[name];
  return numberSetting(
    name,
    fromMessage,
    fromSettings,
    (value) => parseSmsNumber(name, value),
    (params) => new SmsError('numberValue', { ...params, min, max }),
  );
}

function validity(fromMessage: unknown, fromSettings: unknown): number | undefined {
  return numberSetting(
    'validity',
    fromMessage,
    fromSettings,
    parseValidity,
    (params) => new SmsError('validityValue', params),
  );
}

/**
 * A number the message gives (`msg.<name>`, a number) or else the node (its setting, typed text),
 * bounded by `parse`; a value out of bounds ends in `refusal`, naming the field and the value.
 */
function numberSetting(
  name: string,
  fromMessage: unknown,
  fromSettings: unknown,
  parse: (value: unknown) => Check<number | undefined>,
  refusal: (params: { field: string; value: string }) => SmsError,
): number | undefined {
  const useMessage = fromMessage !== undefined && fromMessage !== null;
  const parsed =
    useMessage && typeof fromMessage !== 'number' ? undefined : parse(useMessage ? fromMessage : fromSettings);
  if (!parsed?.ok) {
    throw refusal({
      field: `${useMessage ? 'msg' : 'node'}.${name}`,
      value: preview(useMessage ? fromMessage : fromSettings),
    });
  }
  return parsed.value;
}

/** A Date, an ISO 8601 string with an offset, or epoch milliseconds, as Infobip writes it. */
function sendAt(value: unknown, now: number): string {
  let time = NaN;
  if (value instanceof Date) time = value.getTime();
  else if (typeof value === 'number') time = value;
  else if (
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(value.trim()) &&
    existingTime(value.trim())
  ) {
    time = Date.parse(value.trim().replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  }
  if (!Number.isFinite(time)) throw new SmsError('sendAtValue', { value: preview(value) });
  if (time < now - SCHEDULE_PAST_MS) throw new SmsError('sendAtPast', { value: new Date(time).toISOString() });
  if (time > now + SCHEDULE_AHEAD_MS) throw new SmsError('sendAtFar', { value: new Date(time).toISOString() });
  return new Date(time).toISOString().replace('Z', '+0000');
}

/** Whether an ISO 8601 time names a day and time that exist (Date.parse turns 30 February into 2 March). */
function existingTime(text: string): boolean {
  const [, year, month, day, hour, minute, second] = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/
    .exec(text)!
    .map(Number);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    (Number.isNaN(second) || second <= 59)
  );
}

/** Every invalid setting of a binary-sms node, in dialog order; checked when the node starts. */
export function checkNodeSettings(settings: NodeSettings, api?: Api): SmsError[] {
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
  check(() => longPayloadMode(settings.longPayload));
  check(() => smsNumber('maxParts', undefined, settings.maxParts));
  check(() => referenceBits(settings.concatRef));
  check(() => {
    const destination = smsNumber('destinationPort', undefined, settings.destinationPort);
    if (smsNumber('sourcePort', undefined, settings.sourcePort) !== undefined && destination === undefined) {
      throw new SmsError('sourceWithoutDestination');
    }
  });
  check(() => {
    const messageClass = smsNumber('messageClass', undefined, settings.messageClass);
    const coding = parseByteValue(
      settings.dataCoding === '' || settings.dataCoding === undefined ? 0 : settings.dataCoding,
    );
    if (messageClass !== undefined && coding !== undefined) classCoding(coding, messageClass);
  });
  check(() => {
    if (validity(undefined, settings.validity) !== undefined && api === 'v1') {
      throw new SmsError('needsV3', { field: 'node.validity' });
    }
  });
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

/**
 * The JSON body of the account's send endpoint: `POST /sms/1/binary/single` (one request) or
 * `POST /sms/3/messages` (one message per request; they share a schedule).
 */
export function requestBody(requests: readonly SendRequest[], api: Api, now = Date.now()): unknown {
  if (api === 'v1') {
    const { from, to, binary } = requests[0];
    return from === undefined ? { to, binary } : { from, to, binary };
  }
  const sendAt = requests[0].options?.sendAt;
  const messages = requests.flatMap(messagesOf);
  // A message that waited in the queue past its time goes now, not with a schedule in the past;
  // its bulk keeps its id, which the flow may already hold.
  const scheduled = sendAt !== undefined && infobipTime(sendAt) > now;
  const bulkId = requests[0].bulkId;
  const schedule = { ...(bulkId !== undefined ? { bulkId } : {}), ...(scheduled ? { sendAt } : {}) };
  return Object.keys(schedule).length > 0 ? { messages, options: { schedule } } : { messages };
}

/** The id of part `index` (1-based) of a split message whose first part has `firstId`. */
export const partIdOf = (firstId: string, index: number) => (index === 1 ? firstId : `${firstId}.${index}`);
export const partIdsOf = (firstId: string, count: number) =>
  Array.from({ length: count }, (_, index) => partIdOf(firstId, index + 1));

/** Bytes of a request's (first part's) user data, from its hex ("0f c2 4a": three). */
export const payloadBytes = (request: SendRequest): number => (request.binary.hex.length + 1) / 3;

/** Octets of user data in each part of a concatenated SMS with an 8-bit reference (140 less its 6-byte header). */
const CONCATENATED_PART_OCTETS = 134;

/**
 * The SMS parts a request costs, every destination counted: a split payload its parts; one sent as
 * it is, as many as Infobip needs to concatenate it (one when it fits an SMS).
 */
export function smsPartsOf(request: SendRequest): number {
  const bytes = payloadBytes(request);
  const parts = request.parts?.length ?? (bytes <= 140 ? 1 : Math.ceil(bytes / CONCATENATED_PART_OCTETS));
  return request.to.length * parts;
}

/** Epoch ms of a time as Infobip writes it (2026-12-01T08:00:00.000+0000). */
export const infobipTime = (text: string): number => Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));

/** How many of the body's messages one request is (a split payload is one per part it sends). */
export const messageCount = (request: SendRequest): number => messagesOf(request).length;

/** The body's messages of one request: one, or one per part of a split payload, in order. */
function messagesOf(request: SendRequest): Record<string, unknown>[] {
  const messages = request.parts
    ? request.parts.map((hex, index) => messageOf(request, { ...request.binary, hex }, index + 1))
    : [messageOf(request, request.binary, 1)];
  return request.only ? messages.filter((message) => (message.destinations as unknown[]).length > 0) : messages;
}

function messageOf(request: SendRequest, content: SendRequest['binary'], part: number): Record<string, unknown> {
  const { callbackData, validityPeriod, flash } = request.options ?? {};
  const destinations = request.to.map((to, index) => {
    const messageId = request.messageIds?.[index];
    return messageId === undefined ? { to } : { to, messageId: partIdOf(messageId, part) };
  });
  const message: Record<string, unknown> = {
    destinations: request.only
      ? destinations.filter(({ messageId }) => messageId !== undefined && request.only!.has(messageId))
      : destinations,
    content,
  };
  if (request.from !== undefined) message.sender = request.from;
  if (validityPeriod !== undefined || flash !== undefined) message.options = { validityPeriod, flash };
  const webhooks: Record<string, unknown> = {};
  if (request.reportUrl !== undefined) webhooks.delivery = { url: request.reportUrl };
  if (callbackData !== undefined) webhooks.callbackData = callbackData;
  if (Object.keys(webhooks).length > 0) message.webhooks = webhooks;
  return message;
}

/**
 * Where a v3 violation's property (`messages[0].destinations[0].to`) is one of our fields, its
 * name there (`msg.to`); otherwise the property as Infobip wrote it.
 */
export function fieldOfProperty(property: string): string {
  const rules: [RegExp, string][] = [
    [/^messages\[\d+\]\.destinations(\[\d+\])?(\.to)?$/, 'msg.to'],
    [/^messages\[\d+\]\.content(\..*)?$/, 'msg.payload'],
    [/^messages\[\d+\]\.sender$/, 'msg.from'],
    [/^messages\[\d+\]\.options\.validityPeriod(\..*)?$/, 'msg.validity'],
    [/^messages\[\d+\]\.options\.flash$/, 'msg.flash'],
    [/^messages\[\d+\]\.webhooks\.callbackData$/, 'msg.callbackData'],
    [/^options\.schedule\.sendAt$/, 'msg.sendAt'],
  ];
  return rules.find(([pattern]) => pattern.test(property))?.[1] ?? property;
}

/** About how many bytes a request adds to a v3 body (hex, destinations with ids, options). */
export function requestSize(request: SendRequest): number {
  const parts = request.parts ?? [request.binary.hex];
  const perPart = 200 + 80 * request.to.length + (request.options?.callbackData?.length ?? 0);
  return parts.reduce((bytes, hex) => bytes + perPart + hex.length, 0);
}

/** Requests share one v3 body only with the same schedule and bulk: `options.schedule` is per request. */
export function scheduleOf(request: SendRequest): string {
  return `${request.options?.sendAt ?? ''}\u0000${request.bulkId ?? ''}`;
}
