'use strict';
// The Prometheus metrics in a real Node-RED with adminAuth, against the stand-in Infobip: only a
// token that may read gets them; they count exactly what the stand-in received and hold no secret.
require('should');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const parsePrometheus = require('parse-prometheus-text-format');
const { startNodeRed } = require('../../dev/red-process');
const { requireFromNodeRed } = require('../../dev/node-red-under-test');
const { InfobipTestServer } = require('../../dev/infobip-server');
const { until } = require('../../dev/wait');

const root = path.resolve(__dirname, '..', '..');
const bcrypt = requireFromNodeRed('bcryptjs');
const API_KEY = 'metrics-api-key-0123456789';
const NUMBERS = ['41793026727', '41793026834'];

function flows(baseUrl) {
  return [
    { id: 'mtab', type: 'tab', label: 'metrics' },
    {
      id: 'macc',
      type: 'infobip-account',
      name: 'Fleet account',
      api: 'v3',
      baseUrl,
      authType: 'apiKey',
      credentials: { apiKey: API_KEY },
    },
    { id: 'min', type: 'http in', z: 'mtab', url: '/send', method: 'post', wires: [['mburst']] },
    {
      id: 'mburst',
      type: 'function',
      z: 'mtab',
      outputs: 2,
      // Three short messages to two numbers, and one of 200 bytes split into two parts to one number.
      func: `for (let i = 0; i < 3; i++) node.send([{ payload: '0f c2', to: ${JSON.stringify(NUMBERS)} }, null]);
node.send([{ payload: Buffer.alloc(200, 7), to: '${NUMBERS[0]}' }, null]);
return [null, msg];`,
      wires: [['msms'], ['mout']],
    },
    { id: 'mout', type: 'http response', z: 'mtab', wires: [] },
    {
      id: 'msms',
      type: 'binary-sms',
      z: 'mtab',
      account: 'macc',
      longPayload: 'split',
      dataCoding: '4',
      wires: [[]],
    },
    {
      id: 'mrep',
      type: 'binary-sms-report',
      z: 'mtab',
      account: 'macc',
      mode: 'poll',
      interval: 1,
      parts: 'each',
      wires: [[], []],
    },
  ];
}

describe('the Prometheus metrics with adminAuth', function () {
  this.timeout(60000);
  let red;
  let server;
  let userDir;

  before(async function () {
    server = await new InfobipTestServer({ apiKey: API_KEY, reportDelayMs: 100 }).start();
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-metrics-'));
    const password = bcrypt.hashSync('secret-password', 8);
    red = await startNodeRed({
      userDir,
      nodesDir: [root],
      adminAuth: {
        type: 'credentials',
        users: [
          { username: 'admin', password, permissions: '*' },
          { username: 'reader', password, permissions: 'read' },
          { username: 'flowsonly', password, permissions: 'flows.read' },
        ],
      },
    });
    const admin = await token('admin', '*');
    const deployed = await red.request('POST', '/flows', {
      body: flows(server.baseUrl),
      headers: { authorization: `Bearer ${admin}`, 'Node-RED-Deployment-Type': 'full' },
    });
    deployed.status.should.equal(204);
  });
  after(async function () {
    await red?.stop();
    await server?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  const token = (username, scope) => red.token(username, 'secret-password', scope);
  const scrape = (bearer) =>
    red.request('GET', '/infobip-binary-sms/metrics', {
      accept: 'text/plain',
      headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
    });
  /** The value of `name` for the account, with `labels` (all of them) among its labels; 0 when absent. */
  const valueOf = (families, name, labels = {}) => {
    const family = families.find((candidate) => candidate.name === name);
    const series = family?.metrics.filter(
      (metric) =>
        metric.labels?.account === 'Fleet account' &&
        Object.entries(labels).every(([key, value]) => metric.labels[key] === value),
    );
    return (series ?? []).reduce((sum, metric) => sum + Number(metric.value ?? metric.count), 0);
  };

  it('answer 401 without a token, and to a token that may not read them', async function () {
    (await scrape()).status.should.equal(401);
    (await scrape(await token('flowsonly', 'flows.read'))).status.should.equal(401);
  });

  it('answer a read-only token in the text format; the counters move by exactly what the stand-in received; no secret in them', async function () {
    const reader = await token('reader', 'read');
    const before = parsePrometheus((await scrape(reader)).text);
    valueOf(before, 'infobip_sms_parts_sent_total').should.equal(0);

    const sent = await fetch(`${red.url}/api/send`, { method: 'POST' });
    sent.status.should.equal(200);
    // 3 × 2 destinations of one part, and 1 destination of two parts: 8 parts, 7 destinations.
    await until(() => server.handsets.length === 8, 10000, 'every part at the stand-in');
    await until(() => server.reportPolls.length > 0 && server.reports.length === 0, 10000, 'the reports polled');
    let families;
    let text;
    for (let i = 0; i < 50; i++) {
      const answer = await scrape(reader);
      answer.status.should.equal(200);
      answer.text.should.not.containEql(API_KEY);
      answer.text.should.not.containEql(server.baseUrl);
      answer.text.should.not.containEql(String(server.port));
      for (const number of NUMBERS) answer.text.should.not.containEql(number);
      families = parsePrometheus(answer.text);
      text = answer.text;
      if (valueOf(families, 'infobip_sms_reports_total') >= 8) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    valueOf(families, 'infobip_sms_parts_sent_total').should.equal(server.handsets.length);
    valueOf(families, 'infobip_sms_messages_accepted_total').should.equal(7);
    valueOf(families, 'infobip_sms_messages_rejected_total').should.equal(0);
    // The parser keeps no labels of a histogram: its count is read from the text.
    const sends =
      /^infobip_http_request_duration_seconds_count\{account="Fleet account",account_id="macc",endpoint="send"\} (\d+)$/m.exec(
        text,
      );
    Number(sends?.[1]).should.equal(server.requests.length);
    valueOf(families, 'infobip_http_responses_total', { status: '200' }).should.be.aboveOrEqual(server.requests.length);
    // Reports of every part (Long messages: each part), by status group.
    valueOf(families, 'infobip_sms_reports_total', { status_group: 'DELIVERED' }).should.equal(8);
    valueOf(families, 'infobip_sms_waiting').should.equal(0);
    const family = families.find((candidate) => candidate.name === 'infobip_sms_parts_sent_total');
    family.type.should.equal('COUNTER');
    family.metrics[0].labels.should.eql({ account: 'Fleet account', account_id: 'macc' });
  });
});

describe('the Prometheus metrics turned off in settings.js', function () {
  this.timeout(60000);
  let red;
  let userDir;
  after(async function () {
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('are not served', async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-metrics-off-'));
    red = await startNodeRed({ userDir, nodesDir: [root], settings: { infobipMetrics: false } });
    (await red.request('GET', '/infobip-binary-sms/metrics')).status.should.equal(404);
    // The sidebar's endpoint is another switch.
    (await red.request('GET', '/infobip-binary-sms/accounts')).status.should.equal(200);
  });
});
