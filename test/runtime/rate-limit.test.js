'use strict';
// An account with a rate limit: 429 is the account's backpressure. Messages wait instead of
// failing and each is accepted exactly once. (How long a burst takes is the bench's to measure.)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper, collect, withRuntime, sentMessages } = require('../support/runtime');
const { InfobipTestServer } = require('../../dev/infobip-server');
const { startNodeRed } = require('../../dev/red-process');
const { API_KEY } = require('../support/runtime');

/** Every payload (a sequence number) was accepted exactly once, whatever the number of requests that carried them. */
function assertAcceptedOnce(server, expected) {
  const accepted = server
    .accepted()
    .flatMap(sentMessages)
    .map((message) => message.binary.hex);
  accepted.should.have.length(expected.length);
  new Set(accepted).size.should.equal(expected.length);
  accepted.sort().should.eql([...expected].sort());
}

const hexOf = (prefix, seq) =>
  `${prefix.toString(16).padStart(2, '0')} ${(seq >> 8).toString(16).padStart(2, '0')} ${(seq & 0xff).toString(16).padStart(2, '0')}`;

describe('a rate-limited account', function () {
  this.timeout(60000);
  const env = withRuntime();

  it('one Node-RED: a burst over the limit all ends in outputs, each sent once', async function () {
    const count = 400;
    const perSecond = 100;
    env.server.ratePerSecond = perSecond;
    await env.load();
    const started = Date.now();
    const result = collect(count, 300);
    for (let seq = 0; seq < count; seq++) helper.getNode('sms').receive({ payload: hexOf(1, seq), seq });
    const { outputs, errors } = await result;
    const seconds = (Date.now() - started - 300) / 1000;
    errors.map((msg) => msg.error.message).should.eql([]);
    outputs.should.have.length(count);
    assertAcceptedOnce(
      env.server,
      Array.from({ length: count }, (_, seq) => hexOf(1, seq)),
    );
    const floor = count / perSecond;
    console.log(
      `      ${count} messages at ${perSecond}/s: ${seconds.toFixed(1)} s (floor ${floor} s), ${env.server.throttled} answered 429`,
    );
  });

  it('one Node-RED at Rate limit 100 against an account counting any sliding second at arrival: at most 1 % answered 429, within 1.1 × the floor', async function () {
    const count = 1000;
    env.server.ratePerSecond = 100;
    env.server.rateWindow = 'sliding';
    await env.load({}, { api: 'v1', rateLimit: 100, concurrency: 8 });
    const started = Date.now();
    const result = collect(count, 300);
    for (let seq = 0; seq < count; seq++) helper.getNode('sms').receive({ payload: hexOf(2, seq), seq });
    const { outputs, errors } = await result;
    const seconds = (Date.now() - started - 300) / 1000;
    errors.map((msg) => msg.error.message).should.eql([]);
    outputs.should.have.length(count);
    console.log(
      `      ${count} messages at Rate limit 100, sliding second: ${seconds.toFixed(1)} s (floor 10 s), ${env.server.throttled} answered 429`,
    );
    env.server.throttled.should.be.belowOrEqual(count / 100);
    seconds.should.be.belowOrEqual(11);
  });
});

/** A flow that fires `count` messages at once and reports, at GET /api/burst, how they ended. */
function burstFlow(baseUrl, count, prefix, api) {
  return [
    { id: 'burst-t1', type: 'tab', label: 'burst' },
    { id: 'burst-acc', type: 'infobip-account', api, baseUrl, authType: 'apiKey', credentials: { apiKey: API_KEY } },
    { id: 'burst-go', type: 'inject', z: 'burst-t1', props: [], wires: [['burst-fire']] },
    {
      id: 'burst-fire',
      type: 'function',
      z: 'burst-t1',
      func: `flow.set('burst', { start: Date.now(), outputs: 0, errors: [], end: 0 });
for (let seq = 0; seq < ${count}; seq++) node.send({ payload: [${prefix}, seq >> 8, seq & 255] });
return null;`,
      wires: [['burst-sms']],
    },
    {
      id: 'burst-sms',
      type: 'binary-sms',
      z: 'burst-t1',
      account: 'burst-acc',
      to: '41793026727',
      wires: [['burst-ok']],
    },
    {
      id: 'burst-ok',
      type: 'function',
      z: 'burst-t1',
      func: `const b = flow.get('burst'); b.outputs++; if (b.outputs + b.errors.length === ${count}) b.end = Date.now(); return null;`,
      wires: [],
    },
    { id: 'burst-failures', type: 'catch', z: 'burst-t1', scope: null, wires: [['burst-bad']] },
    {
      id: 'burst-bad',
      type: 'function',
      z: 'burst-t1',
      func: `const b = flow.get('burst'); b.errors.push(msg.error.message); if (b.outputs + b.errors.length === ${count}) b.end = Date.now(); return null;`,
      wires: [],
    },
    { id: 'burst-get', type: 'http in', z: 'burst-t1', url: '/burst', method: 'get', wires: [['burst-read']] },
    {
      id: 'burst-read',
      type: 'function',
      z: 'burst-t1',
      func: "msg.payload = flow.get('burst') || {}; return msg;",
      wires: [['burst-reply']],
    },
    { id: 'burst-reply', type: 'http response', z: 'burst-t1', wires: [] },
  ];
}

describe('several Node-RED instances sharing one rate-limited account', function () {
  this.timeout(120000);
  const root = path.resolve(__dirname, '..', '..');
  const instances = [];
  let server;
  const userDirs = [];

  before(async function () {
    server = await new InfobipTestServer({ apiKey: API_KEY }).start();
    for (let i = 0; i < 3; i++) {
      const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-instance-'));
      userDirs.push(userDir);
      instances.push(await startNodeRed({ userDir, nodesDir: [root] }));
    }
  });
  after(async function () {
    await Promise.all(instances.map((red) => red.stop()));
    await server.stop();
    for (const dir of userDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  // v1: one request per message. v3: waiting messages share requests (Messages per request, default 100),
  // so the same request limit carries far more messages.
  for (const { api, perInstance, perSecond } of [
    { api: 'v1', perInstance: 500, perSecond: 150 },
    { api: 'v3', perInstance: 3000, perSecond: 100 },
  ]) {
    it(`${api}: three processes bursting ${perInstance} each at ${perSecond} requests/s: every message accepted exactly once, none lost`, async function () {
      server.ratePerSecond = perSecond;
      for (const [index, red] of instances.entries()) {
        await red.deploy(burstFlow(server.baseUrl, perInstance, index + 1, api));
        await red.whenRouted('/api/burst');
      }
      server.reset();
      const started = Date.now();
      await Promise.all(instances.map((red) => red.request('POST', '/inject/burst-go')));
      const results = [];
      for (const red of instances) {
        for (;;) {
          const { json } = await red.request('GET', '/api/burst');
          if (json && json.end) {
            results.push(json);
            break;
          }
          if (Date.now() - started > 100000) throw new Error(`not finished: ${JSON.stringify(json).slice(0, 300)}`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      const seconds = (Math.max(...results.map((result) => result.end)) - started) / 1000;
      results.forEach((result) => result.errors.should.eql([]));
      results.forEach((result) => result.outputs.should.equal(perInstance));
      const expected = [];
      for (let i = 1; i <= 3; i++) for (let seq = 0; seq < perInstance; seq++) expected.push(hexOf(i, seq));
      assertAcceptedOnce(server, expected);
      console.log(
        `      ${api}: 3 × ${perInstance} messages, ${server.accepted().length} requests accepted at ${perSecond}/s, ${server.throttled} answered 429: ${seconds.toFixed(1)} s`,
      );
    });
  }
});
