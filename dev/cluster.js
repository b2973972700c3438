'use strict';
// Several Node-RED copies running the same flows on one Infobip account, as FlowFuse's high
// availability or a Kubernetes Deployment runs them: a round-robin balancer in front (Infobip's
// pushes reach any copy), the stand-in Infobip behind, and optionally one Redis they share.
// Used by the shared-state tests and the bench.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNodeRed } = require('./red-process');
const { InfobipTestServer } = require('./infobip-server');
const { RoundRobin } = require('./balancer');
const { RedisServer } = require('./redis-server');
const { wait } = require('./wait');

const API_KEY = 'cluster-test-key-0123456789';
const TOKEN = 'cluster-push-token-0123';
/** The shared Redis asks for a password, which must never show anywhere. */
const REDIS_PASSWORD = 'cluster-redis-password-42';

const keep = (id, list, fields) => ({
  id,
  type: 'function',
  z: 'cl-tab',
  func: `const kept = global.get('${list}') || []; kept.push(${fields}); global.set('${list}', kept); return null;`,
  wires: [],
});

/**
 * The flows every copy runs. POST /api/send?count=N&to=… sends N messages (each its own request
 * with batchSize 1); GET /api/seen answers what this copy emitted: sent, failed (Catch), reports,
 * overdue, replies.
 */
function clusterFlow({
  baseUrl,
  publicUrl,
  redisUrl,
  mode = 'webhook',
  overdue = 0,
  rateLimit = 0,
  batchSize = 1,
  dailyLimit = '',
}) {
  return [
    { id: 'cl-tab', type: 'tab', label: 'cluster' },
    {
      id: 'cl-acc',
      type: 'infobip-account',
      name: 'cluster',
      api: 'v3',
      baseUrl,
      authType: 'apiKey',
      rateLimit,
      batchSize,
      dailyLimit,
      concurrency: 8,
      credentials: { apiKey: API_KEY, ...(redisUrl ? { redisUrl } : {}) },
    },
    { id: 'cl-in', type: 'http in', z: 'cl-tab', url: '/send', method: 'post', wires: [['cl-burst']] },
    {
      id: 'cl-burst',
      type: 'function',
      z: 'cl-tab',
      outputs: 2,
      func: `const count = Number(msg.req.query.count || 1);
const to = String(msg.req.query.to || '41793026727');
const tag = String(msg.req.query.tag || 'm');
for (let i = 0; i < count; i++) node.send([{ payload: '0f c2', to, topic: tag + '-' + i }, null]);
msg.payload = { queued: count };
return [null, msg];`,
      wires: [['cl-sms'], ['cl-out']],
    },
    { id: 'cl-out', type: 'http response', z: 'cl-tab', wires: [] },
    { id: 'cl-sms', type: 'binary-sms', z: 'cl-tab', account: 'cl-acc', wires: [['cl-keep-sent']] },
    keep(
      'cl-keep-sent',
      'sent',
      '{ topic: msg.topic, messageId: msg.messageId, to: msg.to, status: msg.payload.status && msg.payload.status.groupName }',
    ),
    { id: 'cl-catch', type: 'catch', z: 'cl-tab', scope: ['cl-sms'], wires: [['cl-keep-failed']] },
    { id: 'cl-status', type: 'status', z: 'cl-tab', scope: ['cl-sms'], wires: [['cl-keep-status']] },
    keep('cl-keep-status', 'statuses', '{ fill: msg.status.fill, text: msg.status.text }'),
    keep('cl-keep-failed', 'failed', '{ topic: msg.topic, error: msg.error && msg.error.message }'),
    {
      id: 'cl-rep',
      type: 'binary-sms-report',
      z: 'cl-tab',
      account: 'cl-acc',
      mode,
      interval: 1,
      path: '/cl/reports',
      publicUrl,
      overdue,
      parts: 'whole',
      credentials: { token: TOKEN },
      wires: [['cl-keep-report'], ['cl-keep-overdue']],
    },
    keep(
      'cl-keep-report',
      'reports',
      '{ messageId: msg.messageId, status: msg.payload.status.name, topic: msg.sent && msg.sent.topic }',
    ),
    keep('cl-keep-overdue', 'overdue', '{ messageId: msg.messageId, topic: msg.sent && msg.sent.topic }'),
    {
      id: 'cl-inb',
      type: 'infobip-sms-in',
      z: 'cl-tab',
      account: 'cl-acc',
      mode,
      interval: 1,
      path: '/cl/inbound',
      replyWindow: 600,
      credentials: { token: TOKEN },
      wires: [['cl-keep-reply']],
    },
    keep('cl-keep-reply', 'replies', '{ messageId: msg.messageId, from: msg.from, topic: msg.sent && msg.sent.topic }'),
    { id: 'cl-seen', type: 'http in', z: 'cl-tab', url: '/seen', method: 'get', wires: [['cl-read']] },
    {
      id: 'cl-read',
      type: 'function',
      z: 'cl-tab',
      func: "msg.payload = Object.fromEntries(['sent', 'failed', 'reports', 'overdue', 'replies', 'statuses'].map((k) => [k, global.get(k) || []])); return msg;",
      wires: [['cl-seen-out']],
    },
    { id: 'cl-seen-out', type: 'http response', z: 'cl-tab', wires: [] },
  ];
}

class Cluster {
  /** `copies` Node-RED processes; `redis`: share state through a Redis of its own; `server`: stand-in options. */
  constructor({ copies = 3, redis = true, server = {}, flow = {} } = {}) {
    this.count = copies;
    this.useRedis = redis;
    this.serverOptions = server;
    this.flowOptions = flow;
    this.copies = [];
    this.dirs = [];
  }

  async start() {
    this.server = await new InfobipTestServer({ apiKey: API_KEY, reportDelayMs: 50, ...this.serverOptions }).start();
    this.balancer = await new RoundRobin().start();
    this.server.inboundUrl = `${this.balancer.url}/api/cl/inbound?token=${TOKEN}`;
    if (this.useRedis) this.redis = await new RedisServer({ password: REDIS_PASSWORD }).start();
    for (let i = 0; i < this.count; i++) this.dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), `binary-sms-copy${i}-`)));
    await Promise.all(this.dirs.map((_dir, index) => this.startCopy(index)));
    await this.deploy();
    return this;
  }

  flow(overrides = {}) {
    return clusterFlow({
      baseUrl: this.server.baseUrl,
      publicUrl: this.balancer.url,
      redisUrl: this.redis?.url,
      ...this.flowOptions,
      ...overrides,
    });
  }

  async startCopy(index) {
    this.copies[index] = await startNodeRed({ userDir: this.dirs[index], nodesDir: [path.resolve(__dirname, '..')] });
    this.balancer.setTargets(
      this.copies.filter((copy) => copy && copy.child.exitCode === null).map((copy) => copy.url),
    );
    return this.copies[index];
  }

  async stopCopy(index) {
    await this.copies[index].stop();
    this.balancer.setTargets(this.copies.filter((copy) => copy.child.exitCode === null).map((copy) => copy.url));
  }

  /** Deploys the flows on every running copy (a full deploy), `overrides` changing the flow's options. */
  async deploy(overrides = {}) {
    const flows = this.flow(overrides);
    await Promise.all(this.running().map((copy) => copy.deploy(flows)));
    await Promise.all(this.running().map((copy) => copy.whenRouted('/api/seen')));
    // Give the account time to connect to Redis before the first send.
    await wait(300);
  }

  running() {
    return this.copies.filter((copy) => copy.child.exitCode === null);
  }

  /** Asks copy `index` to send `count` messages to `to`, tagged. */
  async send(index, count, { to = '41793026727', tag = `c${index}` } = {}) {
    const query = new URLSearchParams({ count: String(count), to, tag });
    const response = await fetch(`${this.copies[index].url}/api/send?${query}`, { method: 'POST' });
    if (response.status !== 200) throw new Error(`copy ${index} refused the send: ${response.status}`);
  }

  /** What each running copy emitted. */
  async seen() {
    return Promise.all(this.running().map(async (copy) => (await fetch(`${copy.url}/api/seen`)).json()));
  }

  /** Everything the copies emitted, of one kind, together. */
  async all(kind) {
    return (await this.seen()).flatMap((seen) => seen[kind]);
  }

  /** Waits until `predicate(await this.all(kind))` holds (at most `ms`). */
  async until(kind, predicate, ms = 30000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const list = await this.all(kind);
      if (predicate(list)) return list;
      if (Date.now() > deadline) {
        const outputs = this.copies
          .map((copy, index) => `--- copy ${index}:\n${copy.output().slice(-1500)}`)
          .join('\n');
        throw new Error(`timed out waiting for ${kind} (have ${list.length}):\n${outputs}`);
      }
      await wait(200);
    }
  }

  output() {
    return this.copies.map((copy) => copy.output()).join('\n');
  }

  async stop() {
    await Promise.all(this.copies.map((copy) => copy.stop()));
    await this.balancer?.stop();
    await this.server?.stop();
    await this.redis?.destroy();
    for (const dir of this.dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { Cluster, clusterFlow, API_KEY, TOKEN, REDIS_PASSWORD };
