// The input rules shared by the runtime and the editor: the editor scripts (nodes/editor)
// import them and the build bundles them in, so they must stay free of Node.js APIs.

export const DESTINATION_DIGITS = { min: 7, max: 15 };
export const NUMERIC_SENDER_DIGITS = { min: 3, max: 14 };
export const ALPHANUMERIC_SENDER_LENGTH = { min: 3, max: 11 };

/** Formatting characters a person may type inside a phone number. */
const NUMBER_FORMATTING = /[\s\-.()]/g;
const NUMERIC_SENDER = /^\d{3,14}$/;
const ALPHANUMERIC_SENDER = /^[A-Za-z0-9 ._&-]{3,11}$/;

export type Check<T> = { ok: true; value: T } | { ok: false; value: string };

/** A destination in international format (country code first, so never a leading 0): "+41 (79) 302-67.27" becomes "41793026727". */
export function cleanDestination(text: string): Check<string> {
  const digits = text.trim().replace(/^\+/, '').replace(NUMBER_FORMATTING, '');
  const { min, max } = DESTINATION_DIGITS;
  if (digits.length < min || digits.length > max || !/^[1-9]\d*$/.test(digits)) {
    return { ok: false, value: text };
  }
  return { ok: true, value: digits };
}

/**
 * Splits a list of destinations typed as text. Commas, semicolons and line breaks
 * separate numbers when present (spaces inside a number are then formatting).
 * Without them, spaces separate numbers only if every space-separated part is a whole
 * number, so "+41 79 302 67 27" stays one number and "41793026727 41793026834" is two.
 */
export function splitDestinations(text: string): string[] {
  if (/[,;\n]/.test(text)) {
    return text
      .split(/[,;\n]+/)
      .map((part) => part.trim())
      .filter((part) => part !== '');
  }
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const words = trimmed.split(/\s+/);
  return words.every((word) => cleanDestination(word).ok) ? words : [trimmed];
}

/** Cleans every destination of a typed list; the first invalid one is returned as the failure. */
export function parseDestinationList(text: string): Check<string[]> {
  const numbers: string[] = [];
  for (const part of splitDestinations(text)) {
    const cleaned = cleanDestination(part);
    if (!cleaned.ok) return cleaned;
    numbers.push(cleaned.value);
  }
  return { ok: true, value: numbers };
}

/** Sender ID: numeric with 3–14 digits, or 3–11 letters, digits, spaces and . _ & - with at least one letter. */
export function isValidSender(text: string): boolean {
  if (NUMERIC_SENDER.test(text)) return true;
  return ALPHANUMERIC_SENDER.test(text) && /[A-Za-z]/.test(text) && text.trim() === text;
}

/** An integer 0–255 given as a number or as a string of digits (editor fields are strings). */
export function parseByteValue(value: unknown): number | undefined {
  let number: number;
  if (typeof value === 'number') number = value;
  else if (typeof value === 'string' && /^\s*\d{1,3}\s*$/.test(value)) number = Number(value);
  else return undefined;
  return Number.isInteger(number) && number >= 0 && number <= 255 ? number : undefined;
}

/** An http(s) URL without query or fragment; trailing slashes are dropped. */
export function normaliseBaseUrl(text: string): string | undefined {
  const trimmed = text.trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/i.test(trimmed)) return undefined;
  return trimmed;
}

/** A user name or password in a URL (`https://user:password@host`), whatever its scheme. */
const URL_CREDENTIALS = /^[a-z][a-z0-9+.-]*:\/\/[^\s/?#]*@/i;

/**
 * An account's base URL, normalised, or why it cannot be used: not an http(s) URL, or it holds a
 * user name or password. Those would sit in clear text in the flow (and its exports), the
 * account's label and warnings: the API key, or the username and password, have their own
 * encrypted fields. The dialog and the runtime both decide by this.
 */
export function parseBaseUrl(
  text: string,
): { ok: true; value: string } | { ok: false; problem: 'notUrl' | 'credentials' } {
  // First: the error for a URL that is not one shows it, and must not show a password.
  if (URL_CREDENTIALS.test(text.trim())) return { ok: false, problem: 'credentials' };
  const value = normaliseBaseUrl(text);
  return value === undefined ? { ok: false, problem: 'notUrl' } : { ok: true, value };
}

/**
 * Infobip's API an account sends through: `v3` (`POST /sms/3/messages`, the current one) or `v1`
 * (`POST /sms/1/binary/single`, no longer documented). An account saved without the setting keeps v1.
 */
export type Api = 'v1' | 'v3';
export const APIS: readonly Api[] = ['v3', 'v1'];

/** What the account dialog gives a new account; the example flows carry the same. */
export const ACCOUNT_FIELD_DEFAULTS = {
  api: 'v3',
  baseUrl: 'https://api.infobip.com',
  authType: 'apiKey',
  concurrency: '8',
  rateLimit: '0',
  queueLimit: '',
  timeout: '30',
  retries: '3',
  throttleWait: '600',
  trackLimit: '10000',
  trackStore: '',
  batchSize: '100',
  /** New accounts look lost answers up for two minutes; one saved without the setting does not. */
  resolveUnknown: '120',
  idempotent: false,
  dailyLimit: '',
};

/** Bounds of the account's numeric settings; empty means the default. */
export const ACCOUNT_NUMBERS = {
  concurrency: { min: 1, max: 256, integer: true },
  rateLimit: { min: 0, max: 10000, integer: false },
  /** 0 or empty: Node-RED's nodeMessageBufferMaxLength (no limit unless set). */
  queueLimit: { min: 0, max: 100000000, integer: true },
  /** Seconds; setTimeout holds at most 2^31-1 ms. */
  timeout: { min: 0.1, max: 2147483, integer: false },
  retries: { min: 0, max: 10, integer: true },
  /** Seconds a message may wait out 429/503 answers before it fails. */
  throttleWait: { min: 1, max: 86400, integer: false },
  /** Accepted messages remembered for delivery reports. */
  trackLimit: { min: 1, max: 1000000, integer: true },
  /** Waiting messages one v3 request may carry; 1 = one request per message. */
  batchSize: { min: 1, max: 1000, integer: true },
  /** Seconds a v3 message whose answer was lost is looked for in Infobip's logs; 0 = off. */
  resolveUnknown: { min: 0, max: 86400, integer: true },
  /** SMS parts the account may send in any 24 hours; 0 or empty = no limit. */
  dailyLimit: { min: 0, max: 100000000, integer: true },
};

/**
 * Minutes a v3 message stays worth delivering: at least one second (Infobip counts whole seconds
 * and refuses 0), at most 48 hours (more Infobip would cut silently).
 */
export const VALIDITY_MINUTES = { min: 1 / 60, max: 2880 };

/** A validity in minutes: undefined when empty, else a number from one second to 48 hours. */
export function parseValidity(value: unknown): Check<number | undefined> {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    return { ok: true, value: undefined };
  }
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isFinite(number) || number < VALIDITY_MINUTES.min || number > VALIDITY_MINUTES.max) {
    return { ok: false, value: typeof value === 'string' ? value : String(JSON.stringify(value)) };
  }
  return { ok: true, value: number };
}

/** Bounds of the numeric settings of the nodes that receive (report and inbound). */
export const RECEIVER_NUMBERS = {
  /** Seconds between polls. */
  interval: { min: 1, max: 86400, integer: false },
  /** Minutes without a report after which a message is overdue; 0 = off; reports are kept 48 h. */
  overdue: { min: 0, max: 2880, integer: false },
  /** Minutes after a send within which a reply from its number is tied to it; 0 = off; tracking keeps 48 h. */
  replyWindow: { min: 0, max: 2880, integer: false },
};

type Bounds = { min: number; max: number; integer: boolean };

export type AccountNumber = keyof typeof ACCOUNT_NUMBERS;

export function parseAccountNumber(name: AccountNumber, value: unknown): Check<number | undefined> {
  return parseBounded(ACCOUNT_NUMBERS[name], value);
}

export function parseReceiverNumber(name: keyof typeof RECEIVER_NUMBERS, value: unknown): Check<number | undefined> {
  return parseBounded(RECEIVER_NUMBERS[name], value);
}

/** A numeric setting as typed in the editor: undefined when empty, else a number within its bounds. */
function parseBounded({ min, max, integer }: Bounds, value: unknown): Check<number | undefined> {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    return { ok: true, value: undefined };
  }
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  if (!Number.isFinite(number) || number < min || number > max || (integer && !Number.isInteger(number))) {
    return { ok: false, value: typeof value === 'string' ? value : JSON.stringify(value) };
  }
  return { ok: true, value: number };
}

/**
 * A webhook path under httpNodeRoot: one leading slash, then letters, digits and . _ ~ - /.
 * Characters that Express reads as route syntax (`:` `(` `)` `*` `?` `+` …) are refused: the
 * route would match other URLs than the one shown, or fail to register.
 */
export function normaliseRoutePath(text: string): string | undefined {
  const trimmed = text.trim();
  const withSlash = trimmed.startsWith('/') ? trimmed : '/' + trimmed;
  return /^\/[A-Za-z0-9._~/-]*$/.test(withSlash) && withSlash !== '/' ? withSlash : undefined;
}

/** What a binary-sms node does with a payload that does not fit one SMS; a node saved without the setting keeps `asIs`. */
export type LongPayload = 'split' | 'asIs' | 'refuse';
export const LONG_PAYLOADS: readonly LongPayload[] = ['split', 'asIs', 'refuse'];

/** Settings of a binary-sms node about long payloads and headers; empty means the default. */
export const SMS_NUMBERS = {
  /** Parts a split payload may need at most (a concatenation element counts parts in one byte). */
  maxParts: { min: 2, max: 255, integer: true },
  /** 16-bit application ports. */
  destinationPort: { min: 0, max: 65535, integer: true },
  sourcePort: { min: 0, max: 65535, integer: true },
  /** TS 23.038 message class: 0 flash, 1 mobile equipment, 2 SIM, 3 terminal equipment. */
  messageClass: { min: 0, max: 3, integer: true },
};

export function parseSmsNumber(name: keyof typeof SMS_NUMBERS, value: unknown): Check<number | undefined> {
  return parseBounded(SMS_NUMBERS[name], value);
}

/**
 * The data coding that carries a message class (3GPP TS 23.038), or undefined when it cannot:
 * 0 (GSM 7-bit) and 4 (8-bit) move to group 1111 (`0xF0`/`0xF4` + class, so 8-bit class 1 is
 * `0xF5`), a coding of that group changes its class bits, and the general groups (`00xxxxxx`,
 * `01xxxxxx`, alphabet not reserved) set their class bit and class (UCS-2 class 1 is `0x19`).
 */
export function withMessageClass(dataCoding: number, messageClass: number): number | undefined {
  if (dataCoding === 0 || dataCoding === 4) return 0xf0 | dataCoding | messageClass;
  if (dataCoding >= 0xf0 && dataCoding <= 0xf7) return (dataCoding & 0xfc) | messageClass;
  if (dataCoding < 0x80 && alphabetOf(dataCoding) !== 3) return (dataCoding & 0xfc) | 0x10 | messageClass;
  return undefined;
}

/** Whether the user data is UCS-2 (two octets per character): the general groups' alphabet 10. */
export function isUcs2(dataCoding: number): boolean {
  return dataCoding < 0x80 && alphabetOf(dataCoding) === 2;
}

const alphabetOf = (dataCoding: number) => (dataCoding >> 2) & 3;
