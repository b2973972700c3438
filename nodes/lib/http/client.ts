import axios, { AxiosInstance, AxiosResponse } from 'axios';
import { Agents, createAgents, proxyFailure, proxyFor } from './agent';
import { SendFailure } from '../errors';
import { monotonicNow } from '../limits';
import { Redactor } from './redact';
import type { Api } from '../rules';
import {
  type DeliveryReport,
  type InboundSms,
  type LogEntry,
  type SendResult,
  type SmsResponse,
  isResultsPage,
} from './infobip';

export interface Credentials {
  authType: 'apiKey' | 'basic';
  apiKey?: string;
  username?: string;
  password?: string;
}

export interface ClientOptions extends Credentials {
  api: Api;
  baseUrl: string;
  timeoutMs: number;
  maxSockets: number;
  /** How long an idle pooled connection is kept (default IDLE_SOCKET_MS). */
  idleSocketMs?: number;
  /** The longest Retry-After a report poll honours (the account's Wait on 429). */
  maxPollWaitMs?: number;
  /** How a 400 names a property of the body it refused (the sender knows its own fields); as Infobip wrote it by default. */
  propertyName?: (property: string) => string;
  /** Told of every exchange: what was asked, Infobip's HTTP status (0: no answer) and how long it took. */
  observe?: (endpoint: Endpoint, status: number, seconds: number) => void;
}

/** What a request asks Infobip. */
export type Endpoint = 'send' | 'logs' | 'reports' | 'inbound' | 'bulks';

/** What Infobip answers about a scheduled bulk: its status, or its time. */
export interface BulkAnswer {
  bulkId: string;
  status?: string;
  sendAt?: string;
  [field: string]: unknown;
}

/** The status a PUT /sms/1/bulks/status sets for each action. */
const BULK_STATUSES = { pause: 'PAUSED', resume: 'PROCESSING', cancel: 'CANCELED' } as const;

/** Errors raised before a byte reached the server: no connection was ever made. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
/** Inbound SMS are fetched from the same endpoint whichever API the account sends through. */
const INBOX_PATH = '/sms/1/inbox/reports';
/** Scheduled bulks: their time, and their status. */
const BULKS_PATH = '/sms/1/bulks';
const BULKS_STATUS_PATH = '/sms/1/bulks/status';
/** Message logs (v3): what Infobip accepted, by the ids the sender chose; reading does not consume them. */
const LOGS_PATH = '/sms/3/logs';
/** The most a logs answer lists (Infobip's cap for `limit`). */
export const LOGS_PAGE = 1000;
const PATHS: Record<Api, { send: string; reports: string }> = {
  v1: { send: '/sms/1/binary/single', reports: '/sms/1/reports' },
  v3: { send: '/sms/3/messages', reports: '/sms/3/reports' },
};

export function authorizationHeader(credentials: Credentials): string {
  if (credentials.authType === 'basic') {
    const pair = `${credentials.username ?? ''}:${credentials.password ?? ''}`;
    return 'Basic ' + Buffer.from(pair, 'utf8').toString('base64');
  }
  return 'App ' + (credentials.apiKey ?? '');
}

/**
 * Talks to one Infobip account over keep-alive connections; never retries by itself. Sends and
 * report polls have pools of their own, so a send never waits for a socket behind a poll.
 */
export class InfobipClient {
  private readonly http: AxiosInstance;
  private readonly sendAgents: Agents;
  private readonly pollAgents: Agents;
  private readonly proxy: URL | undefined;
  private readonly redactor: Redactor;
  private readonly timeoutMs: number;
  private readonly maxPollWaitMs: number;
  private readonly propertyName: (property: string) => string;
  private readonly observe: (endpoint: Endpoint, status: number, seconds: number) => void;
  readonly api: Api;

  constructor(options: ClientOptions) {
    this.api = options.api;
    this.propertyName = options.propertyName ?? ((property) => property);
    this.observe = options.observe ?? (() => {});
    this.sendAgents = createAgents(options.baseUrl, options.maxSockets, options.idleSocketMs);
    // One socket for report polls and one for inbound polls: neither waits behind the other.
    this.pollAgents = createAgents(options.baseUrl, 2, options.idleSocketMs);
    this.proxy = proxyFor(options.baseUrl);
    const authorization = authorizationHeader(options);
    this.redactor = new Redactor([authorization, authorization.split(' ')[1], options.apiKey, options.password]);
    this.timeoutMs = options.timeoutMs;
    this.maxPollWaitMs = options.maxPollWaitMs ?? Infinity;
    this.http = axios.create({
      baseURL: options.baseUrl,
      headers: { Authorization: authorization, 'Content-Type': 'application/json', Accept: 'application/json' },
      httpAgent: this.sendAgents.http,
      httpsAgent: this.sendAgents.https,
      // The agents tunnel through the proxy themselves, so a refused tunnel is known to have sent nothing.
      proxy: false,
      maxRedirects: 0,
      responseType: 'text',
      transformRequest: (body: unknown) => body,
      transformResponse: (body: unknown) => body,
      validateStatus: () => true,
    });
  }

  /**
   * Posts one body to the account's send endpoint and returns Infobip's answer. Aborting
   * `controller` cancels it; the client aborts it too on timeout. A 400 that names the body's
   * messages by index carries each one's own failure in `refused`, by that index.
   */
  async send(body: unknown, controller = new AbortController()): Promise<SendResult> {
    const text = JSON.stringify(body);
    return this.exchange('send', controller, isSmsResponse, (signal) =>
      this.http.post<string>(PATHS[this.api].send, text, { signal }),
    );
  }

  /**
   * Fetches one page of delivery reports. Infobip hands out each report once: whatever this
   * returns must be emitted. Not queued behind sends: it has its own request slot.
   */
  fetchReports(limit: number, controller = new AbortController()): Promise<DeliveryReport[]> {
    return this.fetchPage('reports', PATHS[this.api].reports, isResultsPage<DeliveryReport>, limit, controller);
  }

  /** Fetches one page of inbound SMS; like reports, each is handed out once. */
  fetchInbound(limit: number, controller = new AbortController()): Promise<InboundSms[]> {
    return this.fetchPage('inbound', INBOX_PATH, isResultsPage<InboundSms>, limit, controller);
  }

  /**
   * The logs of the messages with these ids that Infobip accepted (v3). Goes out on the send
   * connections, through the account's pipeline: it counts against the account's limits.
   */
  async fetchLogs(messageIds: readonly string[], controller = new AbortController()): Promise<LogEntry[]> {
    const query = new URLSearchParams(messageIds.map((id) => ['messageId', id]));
    query.append('limit', String(LOGS_PAGE));
    const { body } = await this.exchange('logs', controller, isLogsPage, (signal) =>
      this.http.get<string>(`${LOGS_PATH}?${query.toString()}`, { signal }),
    );
    return body.results;
  }

  /**
   * Asks about or changes a scheduled bulk: `status` (GET /sms/1/bulks/status), `pause`, `resume`
   * and `cancel` (PUT /sms/1/bulks/status), `reschedule` to `sendAt` (PUT /sms/1/bulks).
   */
  async manageBulk(
    action: 'status' | 'pause' | 'resume' | 'cancel' | 'reschedule',
    bulkId: string,
    sendAt?: string,
    controller = new AbortController(),
  ): Promise<BulkAnswer> {
    const params = { bulkId };
    const { body } = await this.exchange('bulks', controller, isBulkAnswer, (signal) => {
      if (action === 'status') return this.http.get<string>(BULKS_STATUS_PATH, { params, signal });
      if (action === 'reschedule')
        return this.http.put<string>(BULKS_PATH, JSON.stringify({ sendAt }), { params, signal });
      return this.http.put<string>(BULKS_STATUS_PATH, JSON.stringify({ status: BULK_STATUSES[action] }), {
        params,
        signal,
      });
    });
    return body;
  }

  private async fetchPage<T>(
    endpoint: Endpoint,
    path: string,
    accept: (body: unknown) => body is { results: T[] },
    limit: number,
    controller: AbortController,
  ): Promise<T[]> {
    const { http: httpAgent, https: httpsAgent } = this.pollAgents;
    try {
      const { body } = await this.exchange(endpoint, controller, accept, (signal) =>
        this.http.get<string>(path, { params: { limit }, signal, httpAgent, httpsAgent }),
      );
      return body.results;
    } catch (error) {
      // A Retry-After of days would stop polling for days: wait at most what a send would.
      if (error instanceof SendFailure && (error.retryAfterMs ?? 0) > this.maxPollWaitMs) {
        const { key, params, kind, statusCode } = error;
        throw new SendFailure(key, params, kind, statusCode, this.maxPollWaitMs);
      }
      throw error;
    }
  }

  private async exchange<T>(
    endpoint: Endpoint,
    controller: AbortController,
    accept: (body: unknown) => body is T,
    perform: (signal: AbortSignal) => Promise<AxiosResponse<string>>,
  ): Promise<{ statusCode: number; body: T }> {
    const started = monotonicNow();
    let timedOut = false;
    let status = 0;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    try {
      const response = await perform(controller.signal);
      status = response.status;
      return this.readResponse(response, accept);
    } catch (error) {
      if (error instanceof SendFailure) throw error;
      throw this.transportFailure(error, timedOut, started);
    } finally {
      clearTimeout(timer);
      this.observe(endpoint, status, (monotonicNow() - started) / 1000);
    }
  }

  /** Masks a secret that requests carry (a report node's token) in everything read back from Infobip. */
  addSecret(secret: string): void {
    this.redactor.add(secret);
  }

  /** Frees the keep-alive sockets. */
  close(): void {
    for (const agent of [this.sendAgents, this.pollAgents]) {
      agent.http.destroy();
      agent.https.destroy();
    }
  }

  private readResponse<T>(
    response: AxiosResponse<string>,
    accept: (body: unknown) => body is T,
  ): { statusCode: number; body: T } {
    const status = response.status;
    const raw = typeof response.data === 'string' ? response.data : '';
    const body = parseJson(raw);
    if (status >= 200 && status < 300) {
      if (accept(body)) {
        return { statusCode: status, body: this.redactor.descriptions(body) };
      }
      throw new SendFailure('badResponse', { status, detail: this.describeBody(raw, body) }, 'final', status);
    }
    const detail = this.describeBody(raw, body);
    if (status === 429 || status === 503) {
      // A date in Retry-After is measured against the answer's own clock, not this machine's.
      const answeredAt = Date.parse(String(response.headers.date ?? ''));
      const retryAfterMs = parseRetryAfter(
        response.headers['retry-after'],
        Number.isFinite(answeredAt) ? answeredAt : Date.now(),
      );
      throw new SendFailure('http', { status, detail }, 'throttled', status, retryAfterMs);
    }
    // A gateway in front of Infobip answers 502/504 also after Infobip accepted the request.
    if (status === 502 || status === 504) throw new SendFailure('gateway', { status, detail }, 'final', status);
    const failure = new SendFailure(status === 401 ? 'http401' : 'http', { status, detail }, 'final', status);
    if (status === 400) failure.refused = this.refusedMessages(body, status);
    throw failure;
  }

  /** Each message a v3 400 names by its index (`messages[2]…`), with its own first violation. */
  private refusedMessages(body: unknown, status: number): Map<number, SendFailure> {
    const refused = new Map<number, SendFailure>();
    const { errorCode, description, violations } = (body ?? {}) as {
      errorCode?: unknown;
      description?: unknown;
      violations?: unknown;
    };
    if (!Array.isArray(violations)) return refused;
    const head = [errorCode, description].filter((part) => typeof part === 'string' && part !== '').join(': ');
    for (const item of violations as { property?: unknown; violation?: unknown }[]) {
      const index = /^messages\[(\d+)\]/.exec(typeof item?.property === 'string' ? item.property : '')?.[1];
      if (index === undefined || refused.has(Number(index)) || typeof item.violation !== 'string') continue;
      const own = `${head}; ${this.propertyName(String(item.property))}: ${item.violation}`;
      refused.set(Number(index), new SendFailure('http', { status, detail: this.short(own) }, 'final', status));
    }
    return refused;
  }

  private transportFailure(error: unknown, timedOut: boolean, started: number): SendFailure {
    const seconds = ((monotonicNow() - started) / 1000).toFixed(1);
    if (timedOut) return new SendFailure('timeout', { seconds }, 'final');
    const failure = error as {
      code?: string;
      cause?: { code?: string };
      request?: { writableFinished?: boolean };
    };
    const cause = failure.cause ?? failure;
    const code = cause.code ?? failure.code ?? 'unknown';
    const proxy = proxyFailure(cause, this.proxy);
    if (proxy) {
      const key = proxy.status === 0 ? 'proxySilent' : 'proxyRefused';
      return new SendFailure(key, { proxy: proxy.proxy, status: proxy.status }, 'notSent');
    }
    if (code === 'ERR_CANCELED') return new SendFailure('abortedInFlight', { seconds }, 'final');
    if (NOT_CONNECTED.has(code)) return new SendFailure('notConnected', { code }, 'notSent');
    if (failure.request && failure.request.writableFinished === false) {
      return new SendFailure('notSent', { code }, 'notSent');
    }
    return new SendFailure('connectionLost', { code, seconds }, 'final');
  }

  /** Infobip's own error text when present, else a short, secret-free description of the body. */
  private describeBody(raw: string, parsed: unknown): string {
    const text = infobipErrorText(parsed, this.propertyName) ?? raw.trim();
    if (text === '') return 'empty body';
    if (/^<(!doctype|html)/i.test(text)) return 'HTML page';
    return this.short(text);
  }

  /** Redacted, then cut to 120 characters (in that order: a cut could split a secret and let its first part through). */
  private short(text: string): string {
    const clean = this.redactor.text(text);
    return clean.length > 120 ? clean.slice(0, 120) + '…' : clean;
  }
}

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isSmsResponse(body: unknown): body is SmsResponse {
  const candidate = body as { messages?: unknown } | null;
  if (typeof candidate !== 'object' || candidate === null || !Array.isArray(candidate.messages)) return false;
  if (candidate.messages.length === 0) return false;
  return candidate.messages.every(
    (entry: { to?: unknown; destination?: unknown; status?: unknown } | null) =>
      typeof entry === 'object' &&
      entry !== null &&
      (typeof entry.to === 'string' || typeof entry.destination === 'string') &&
      typeof entry.status === 'object' &&
      entry.status !== null &&
      !Array.isArray(entry.status),
  );
}

/** `{ "bulkId": "…", … }`: what Infobip answers about a bulk. */
function isBulkAnswer(body: unknown): body is BulkAnswer {
  return typeof (body as { bulkId?: unknown } | null)?.bulkId === 'string';
}

/** `{ "results": [ … ] }`: a list; its entries are checked one by one by whoever asked. */
function isLogsPage(body: unknown): body is { results: LogEntry[] } {
  return Array.isArray((body as { results?: unknown } | null)?.results);
}

/** The error text of either of Infobip's error bodies: `requestError.serviceException` or `{ errorCode, description }`. */
function infobipErrorText(body: unknown, propertyName: (property: string) => string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { requestError, errorCode, description, violations } = body as {
    requestError?: Record<string, { messageId?: unknown; text?: unknown } | undefined>;
    errorCode?: unknown;
    description?: unknown;
    violations?: unknown;
  };
  const exception = requestError?.serviceException ?? requestError?.policyException;
  const parts = exception ? [exception.messageId, exception.text] : [errorCode, description];
  const present = parts.filter((part): part is string => typeof part === 'string' && part !== '');
  if (present.length === 0) return undefined;
  // v3 names what it refused: the first violation, by our field's name where it is one.
  const first = (Array.isArray(violations) ? violations[0] : undefined) as
    { property?: unknown; violation?: unknown } | undefined;
  const violation =
    typeof first?.property === 'string' && typeof first.violation === 'string'
      ? `; ${propertyName(first.property)}: ${first.violation}`
      : '';
  return present.join(': ') + violation;
}

/** Retry-After as milliseconds: non-negative whole seconds or an HTTP date; anything else is ignored. */
export function parseRetryAfter(header: unknown, now = Date.now()): number | undefined {
  if (typeof header !== 'string') return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!HTTP_DATE.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The three date forms HTTP allows (RFC 9110 5.6.7): IMF-fixdate, RFC 850 and asctime. */
const HTTP_DATE =
  /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT|[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/;
