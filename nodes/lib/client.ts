import http from 'node:http';
import https from 'node:https';
import axios, { AxiosInstance, AxiosResponse } from 'axios';
import { SmsError } from './errors';
import { SendRequest } from './request';

export interface Credentials {
  authType: 'apiKey' | 'basic';
  apiKey?: string;
  username?: string;
  password?: string;
}

export interface ClientOptions extends Credentials {
  baseUrl: string;
  timeoutMs: number;
  maxSockets: number;
}

/** One entry of `messages` in Infobip's SMSResponse, passed on untouched. */
export interface MessageResult {
  to: string;
  messageId?: string;
  smsCount?: number;
  status: Record<string, unknown>;
  [field: string]: unknown;
}

export interface SmsResponse {
  bulkId?: string;
  messages: MessageResult[];
}

export interface SendResult {
  statusCode: number;
  body: SmsResponse;
}

/** How a failed attempt may be handled: only `retryable` failures provably did not send an SMS. */
export class SendFailure extends SmsError {
  constructor(
    key: string,
    params: Record<string, string | number>,
    readonly retryable: boolean,
    statusCode?: number,
    readonly retryAfterMs?: number,
  ) {
    super(key, params, statusCode);
  }
}

/** Errors raised before a byte reached the server: no connection was ever made. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
const SEND_PATH = '/sms/1/binary/single';

export function authorizationHeader(credentials: Credentials): string {
  if (credentials.authType === 'basic') {
    const pair = `${credentials.username ?? ''}:${credentials.password ?? ''}`;
    return 'Basic ' + Buffer.from(pair, 'utf8').toString('base64');
  }
  return 'App ' + (credentials.apiKey ?? '');
}

/** Talks to one Infobip account over keep-alive connections; never retries by itself. */
export class InfobipClient {
  private readonly http: AxiosInstance;
  private readonly agents: { http: http.Agent; https: https.Agent };
  private readonly secrets: string[];
  private readonly timeoutMs: number;

  constructor(options: ClientOptions) {
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets, scheduling: 'lifo' as const };
    this.agents = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
    const authorization = authorizationHeader(options);
    this.secrets = [authorization, options.apiKey, options.password, authorization.split(' ')[1]].filter(
      (secret): secret is string => typeof secret === 'string' && secret.length >= 4,
    );
    this.timeoutMs = options.timeoutMs;
    this.http = axios.create({
      baseURL: options.baseUrl,
      headers: { Authorization: authorization, 'Content-Type': 'application/json', Accept: 'application/json' },
      httpAgent: this.agents.http,
      httpsAgent: this.agents.https,
      maxRedirects: 0,
      responseType: 'text',
      transformRequest: (body: unknown) => body,
      transformResponse: (body: unknown) => body,
      validateStatus: () => true,
    });
  }

  /**
   * Sends one request. Aborting `controller` cancels it; the client aborts it too on timeout.
   * (One controller per attempt, shared with the caller, keeps bursts cheap.)
   */
  async send(request: SendRequest, controller = new AbortController()): Promise<SendResult> {
    const started = Date.now();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    try {
      const response = await this.http.post<string>(SEND_PATH, JSON.stringify(request), { signal: controller.signal });
      return this.readResponse(response);
    } catch (error) {
      if (error instanceof SendFailure) throw error;
      throw this.transportFailure(error, timedOut, started);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Frees the keep-alive sockets. */
  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private readResponse(response: AxiosResponse<string>): SendResult {
    const status = response.status;
    const body = parseJson(response.data);
    if (status >= 200 && status < 300) {
      if (isSmsResponse(body)) return { statusCode: status, body };
      throw new SendFailure('badResponse', { status, detail: this.describeBody(response.data, body) }, false, status);
    }
    const detail = this.describeBody(response.data, body);
    if (status === 429 || status === 503) {
      const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
      throw new SendFailure('http', { status, detail }, true, status, retryAfterMs);
    }
    throw new SendFailure(status === 401 ? 'http401' : 'http', { status, detail }, false, status);
  }

  private transportFailure(error: unknown, timedOut: boolean, started: number): SendFailure {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (timedOut) return new SendFailure('timeout', { seconds }, false);
    const failure = error as { code?: string; cause?: { code?: string }; request?: { writableFinished?: boolean } };
    const code = failure.cause?.code ?? failure.code ?? 'unknown';
    if (code === 'ERR_CANCELED') return new SendFailure('abortedInFlight', { seconds }, false);
    if (NOT_CONNECTED.has(code)) return new SendFailure('notConnected', { code }, true);
    if (failure.request && failure.request.writableFinished === false) {
      return new SendFailure('notSent', { code }, true);
    }
    return new SendFailure('connectionLost', { code, seconds }, false);
  }

  /** Infobip's own error text when present, else a short, secret-free description of the body. */
  private describeBody(raw: string, parsed: unknown): string {
    const exception = serviceException(parsed);
    if (exception) return this.redact(exception);
    const text = typeof raw === 'string' ? raw.trim() : '';
    if (text === '') return 'empty body';
    if (/^<(!doctype|html)/i.test(text)) return 'HTML page';
    return this.redact(text.length > 120 ? text.slice(0, 120) + '…' : text);
  }

  private redact(text: string): string {
    return this.secrets.reduce((result, secret) => result.split(secret).join('***'), text);
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
    (entry: { to?: unknown; status?: unknown } | null) =>
      typeof entry === 'object' && entry !== null && typeof entry.to === 'string' && typeof entry.status === 'object',
  );
}

function serviceException(body: unknown): string | undefined {
  const error = (body as { requestError?: Record<string, { messageId?: unknown; text?: unknown }> } | null)
    ?.requestError;
  const exception = error?.serviceException ?? error?.policyException;
  if (!exception) return undefined;
  const parts = [exception.messageId, exception.text].filter((part) => typeof part === 'string' && part !== '');
  return parts.length > 0 ? parts.join(': ') : undefined;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(header: unknown, now = Date.now()): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
