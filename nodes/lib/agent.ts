import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import KeepAliveAgent, { HttpsAgent as KeepAliveHttpsAgent } from 'agentkeepalive';
import { getProxyForUrl } from 'proxy-from-env';

/**
 * How long an idle pooled connection is kept. NATs, firewalls and carriers may forget an idle
 * connection silently (some after far less than a minute); a request written into such a
 * socket vanishes and ends as "delivery unknown". A fresh connection costs one handshake.
 */
export const IDLE_SOCKET_MS = 4000;

export interface AgentOptions {
  maxSockets: number;
  /** The request timeout: an active socket may stay silent that long. */
  timeoutMs: number;
  idleSocketMs?: number;
}

/** Raised when a proxy refuses to open a tunnel: nothing reached Infobip. */
export class ProxyRefused extends Error {
  readonly code = 'EPROXYREFUSED';
  constructor(
    readonly proxy: string,
    readonly statusCode: number,
  ) {
    super(`proxy ${proxy} answered CONNECT with HTTP ${statusCode}`);
  }
}

type Callback = (error: Error | null, socket: Duplex) => void;

/** Honours a server's `Keep-Alive: timeout=N` when it is shorter than our own idle bound. */
function applyServerHint(socket: Duplex & { freeSocketTimeout?: number }, idleMs: number): boolean {
  const response = (socket as { _httpMessage?: { res?: http.IncomingMessage } })._httpMessage?.res;
  const hint = /timeout=(\d+)/i.exec(String(response?.headers['keep-alive'] ?? ''))?.[1];
  if (hint === undefined) return true;
  // Leave a second of margin, as Node's own agent does, so we never write into a closing socket.
  const hinted = Number(hint) * 1000 - 1000;
  if (hinted <= 0) return false;
  socket.freeSocketTimeout = Math.min(hinted, idleMs);
  return true;
}

class IdleBoundHttpAgent extends KeepAliveAgent {
  constructor(
    private readonly idleMs: number,
    options: KeepAliveAgent.HttpOptions,
  ) {
    super(options);
  }
  keepSocketAlive(socket: Duplex): boolean {
    // Node's agent returns whether to keep the socket; the typings say void.
    return applyServerHint(socket, this.idleMs) && Boolean(super.keepSocketAlive(socket));
  }
}

/** Keep-alive HTTPS, reached through an HTTP proxy's CONNECT tunnel when the environment names one. */
class IdleBoundHttpsAgent extends KeepAliveHttpsAgent {
  constructor(
    private readonly idleMs: number,
    private readonly proxy: URL | undefined,
    options: KeepAliveAgent.HttpsOptions,
  ) {
    super(options);
  }
  keepSocketAlive(socket: Duplex): boolean {
    // Node's agent returns whether to keep the socket; the typings say void.
    return applyServerHint(socket, this.idleMs) && Boolean(super.keepSocketAlive(socket));
  }
  // Node's agent accepts an asynchronous createConnection: return nothing, call back with the socket.
  createConnection(options: net.NetConnectOpts, callback?: Callback): net.Socket {
    const proxy = this.proxy;
    if (!proxy || !callback) return super.createConnection(options, callback);
    const { host, port } = options as net.TcpNetConnectOpts;
    const target = `${host}:${port ?? 443}`;
    const request = http.request({
      host: proxy.hostname,
      port: proxy.port || 80,
      method: 'CONNECT',
      path: target,
      headers: { host: target, ...proxyAuthorization(proxy) },
    });
    request.once('connect', (response, socket) => {
      if (response.statusCode !== 200) {
        socket.destroy();
        callback(new ProxyRefused(proxy.host, response.statusCode ?? 0), socket);
        return;
      }
      // The TLS handshake runs inside the tunnel; the keep-alive agent's bookkeeping applies as usual.
      callback(null, super.createConnection({ ...options, socket } as unknown as net.NetConnectOpts));
    });
    request.once('error', (error) => callback(error, request.socket as Duplex));
    request.end();
    return undefined as unknown as net.Socket;
  }
}

function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const pair = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': 'Basic ' + Buffer.from(pair).toString('base64') };
}

/** The proxy for an https base URL from HTTPS_PROXY / NO_PROXY, as curl reads them; none for http. */
export function proxyFor(baseUrl: string): URL | undefined {
  if (!baseUrl.startsWith('https:')) return undefined;
  const proxy = getProxyForUrl(baseUrl);
  if (!proxy) return undefined;
  try {
    return new URL(proxy.includes('://') ? proxy : `http://${proxy}`);
  } catch {
    return undefined;
  }
}

export function createAgents(baseUrl: string, options: AgentOptions): { http: http.Agent; https: http.Agent } {
  const idleMs = options.idleSocketMs ?? IDLE_SOCKET_MS;
  const common = {
    keepAlive: true,
    maxSockets: options.maxSockets,
    scheduling: 'lifo' as const,
    freeSocketTimeout: idleMs,
    // agentkeepalive would otherwise end an active socket after 8 s of silence.
    timeout: options.timeoutMs + 1000,
  };
  return {
    http: new IdleBoundHttpAgent(idleMs, common),
    https: new IdleBoundHttpsAgent(idleMs, proxyFor(baseUrl), common),
  };
}
