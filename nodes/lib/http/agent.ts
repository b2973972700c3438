import http from 'node:http';
import https from 'node:https';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import { getProxyForUrl } from 'proxy-from-env';

/**
 * How long an idle pooled connection is kept. NATs, firewalls and carriers may forget an idle
 * connection silently (some after far less than a minute); a request written into such a
 * socket vanishes and ends as "delivery unknown". A fresh connection costs one handshake.
 * Node's agent destroys a free socket after this long (or sooner, when the server's
 * `Keep-Alive: timeout=` says so); it also bounds a proxy's answer to `CONNECT`.
 */
export const IDLE_SOCKET_MS = 4000;

export interface Agents {
  http: http.Agent;
  https: http.Agent;
}

/** A proxy that refused, or did not answer, the `CONNECT` tunnel: nothing reached Infobip. */
export interface ProxyFailure {
  proxy: string;
  /** The proxy's HTTP status; 0 when it did not answer in time. */
  status: number;
}

/**
 * Keep-alive agents for one base URL, tunnelling through the proxy that HTTPS_PROXY / HTTP_PROXY
 * and NO_PROXY name for it. `lifo` reuses the most recently used socket, so idle ones expire.
 */
export function createAgents(baseUrl: string, maxSockets: number, idleMs = IDLE_SOCKET_MS): Agents {
  const options = { keepAlive: true, maxSockets, scheduling: 'lifo' as const, timeout: idleMs };
  const proxy = proxyFor(baseUrl);
  if (!proxy) return { http: new http.Agent(options), https: new https.Agent(options) };
  return { http: new HttpProxyAgent({ ...options, proxy }), https: new HttpsProxyAgent({ ...options, proxy }) };
}

/**
 * The proxy for a base URL, read as curl reads the environment: the scheme names the proxy's
 * own protocol (`https://` speaks TLS to the proxy), and a proxy given without one is http on port 1080.
 */
export function proxyFor(baseUrl: string): URL | undefined {
  const proxy = getProxyForUrl(baseUrl);
  if (!proxy) return undefined;
  try {
    const url = new URL(proxy.includes('://') ? proxy : `http://${proxy}`);
    if (!proxy.includes('://') && !url.port) url.port = '1080';
    return url;
  } catch {
    return undefined;
  }
}

/** The proxy's refusal (hpagent's "Bad response: N") or silence ("Proxy timeout"), else undefined. */
export function proxyFailure(error: unknown, proxy: URL | undefined): ProxyFailure | undefined {
  if (!proxy) return undefined;
  const message = error instanceof Error ? error.message : '';
  const refused = /^Bad response: (\d+)$/.exec(message);
  if (refused) return { proxy: proxy.host, status: Number(refused[1]) };
  if (message === 'Proxy timeout') return { proxy: proxy.host, status: 0 };
  return undefined;
}
