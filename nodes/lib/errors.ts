/**
 * Every error a binary-sms node can end a message with, and the short reason its status shows
 * (`binary-sms.status.failed.<reason>`). Its text is `binary-sms.errors.<key>` in the catalogs,
 * with a variant `<key>Retried` for when more than one attempt was made.
 */
export const ERRORS = {
  payloadMissing: 'input',
  payloadEmpty: 'input',
  payloadType: 'input',
  payloadHexCharacter: 'input',
  payloadHexOdd: 'input',
  payloadArrayValue: 'input',
  toMissing: 'input',
  toEmpty: 'input',
  toType: 'input',
  toInvalid: 'input',
  fromInvalid: 'input',
  byteValue: 'input',
  validityValue: 'input',
  sendAtValue: 'input',
  sendAtPast: 'input',
  sendAtFar: 'input',
  callbackDataValue: 'input',
  flashValue: 'input',
  needsV3: 'input',
  numberValue: 'input',
  choiceValue: 'input',
  sourceWithoutDestination: 'input',
  messageClassCoding: 'input',
  udhValue: 'input',
  udhLength: 'input',
  udhElement: 'input',
  udhPortsTwice: 'input',
  udhConcatTwice: 'input',
  udhTooLong: 'input',
  udhOver255: 'input',
  tooLong: 'input',
  tooManyParts: 'input',
  splitNeedsV3: 'input',
  scheduleValue: 'input',
  bulkIdMissing: 'input',
  bulkIdValue: 'input',
  noAccount: 'account',
  accountBaseUrl: 'account',
  accountBaseUrlCredentials: 'account',
  accountNoApiKey: 'account',
  accountNoPassword: 'account',
  accountNumber: 'account',
  accountApi: 'account',
  accountRedisUrl: 'account',
  http: 'http',
  http401: 'http',
  retryAfterTooLong: 'http',
  throttledTooLong: 'http',
  badResponse: 'badResponse',
  timeout: 'unknown',
  connectionLost: 'unknown',
  abortedInFlight: 'unknown',
  missingStatus: 'unknown',
  gateway: 'unknown',
  notInLogs: 'unknown',
  notInLogsAfterResend: 'unknown',
  logsUnreadable: 'unknown',
  resolutionStopped: 'unknown',
  notInLogsTooLate: 'unknown',
  resendTooLate: 'unknown',
  notConnected: 'network',
  notSent: 'network',
  proxyRefused: 'network',
  proxySilent: 'network',
  queueFull: 'queueFull',
  closed: 'closed',
  dailyLimit: 'limit',
  dailyLimitTooBig: 'limit',
} as const;

export type ErrorKey = keyof typeof ERRORS;

/**
 * Errors made once per message, never per attempt (no `Retried` variant): the endings of a lost
 * answer that was looked into, and the daily limit's refusals (before any attempt).
 */
export const ONCE_ERRORS: readonly ErrorKey[] = [
  'notInLogs',
  'notInLogsAfterResend',
  'logsUnreadable',
  'resolutionStopped',
  'notInLogsTooLate',
  'resendTooLate',
  'dailyLimit',
  'dailyLimitTooBig',
];
export type StatusReason = (typeof ERRORS)[ErrorKey];

/**
 * An error whose text lives in the message catalog; it knows the short status it shows.
 * Pure modules throw it; the node glue translates it.
 */
export class SmsError extends Error {
  constructor(
    readonly key: ErrorKey,
    readonly params: Record<string, string | number> = {},
    readonly statusCode?: number,
  ) {
    super(key);
    this.name = 'SmsError';
  }

  get statusReason(): StatusReason {
    return ERRORS[this.key];
  }

  /** A copy of its own for one message, saying how many attempts that message had. */
  forAttempts(attempts: number): this {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this;
    return Object.assign(copy, this, { params: { ...this.params, attempts }, stack: this.stack });
  }
}

/**
 * How a failed attempt may be handled. `throttled`: Infobip said the account is over its limit
 * (429) or cannot serve now (503); nothing was sent. `notSent`: the request provably never
 * reached Infobip. `final`: it may have reached Infobip, or retrying cannot help.
 */
export type FailureKind = 'throttled' | 'notSent' | 'final';

/** A failed exchange with Infobip, with what may be done about it. */
export class SendFailure extends SmsError {
  /** For a 400 to several messages: the failure of each message Infobip named, by its index in the request. */
  refused?: Map<number, SendFailure>;

  constructor(
    key: ErrorKey,
    params: Record<string, string | number>,
    readonly kind: FailureKind,
    statusCode?: number,
    readonly retryAfterMs?: number,
  ) {
    super(key, params, statusCode);
  }
}

/**
 * A problem of a report node (its settings, or fetching reports), with its text at
 * `binary-sms-report.errors.<key>` in the catalogs.
 */
export const RECEIVE_ERRORS = [
  'number',
  'path',
  'noAccount',
  'account',
  'unauthorized',
  'pollFailed',
  'noHttpRoot',
  'noToken',
  'tokenShort',
  'keptStore',
  'publicUrl',
  'publicUrlV1',
] as const;
export type ReceiveErrorKey = (typeof RECEIVE_ERRORS)[number];

export class ReceiveError extends Error {
  constructor(
    readonly key: ReceiveErrorKey,
    readonly params: Record<string, string | number> = {},
  ) {
    super(key);
    this.name = 'ReceiveError';
  }
}

/** A short, readable rendering of any value for an error message. */
export function preview(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    text = String(value);
  } else {
    try {
      text = JSON.stringify(value) ?? typeof value;
    } catch {
      text = typeof value;
    }
  }
  return text.length > 40 ? text.slice(0, 40) + '…' : text;
}

/** A short, secret-free reason: the HTTP status with Infobip's text, or the network error code. */
export function describe(error: unknown): string {
  if (!(error instanceof SendFailure)) return error instanceof Error ? error.message : String(error);
  const { status, detail, code } = error.params;
  if (status !== undefined) return `HTTP ${status}${detail ? `: ${detail}` : ''}`;
  return String(code ?? error.key);
}
