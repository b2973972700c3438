'use strict';
// Tracking for delivery reports in real Node-RED processes: msg.sent survives a restart with a
// localfilesystem context store, and instances sharing a store see each other's messages.
require('should');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNodeRed } = require('../../dev/red-process');
const { InfobipTestServer } = require('../../dev/infobip-server');

const root = path.resolve(__dirname, '..', '..');
const API_KEY = 'tracking-test-key-0123456789';
const { wait } = require('../../dev/wait');

/** Sends from an inject node, and keeps every report and reply the report and inbound nodes emit, readable at GET /api/seen. */
function flow(baseUrl, { trackStore, mode, overdue = 0, api, payload = '0f c2', sms = {}, report = {} }) {
  return [
    { id: 'trk-tab', type: 'tab', label: 'tracking' },
    {
      id: 'trk-acc',
      type: 'infobip-account',
      baseUrl,
      authType: 'apiKey',
      trackStore,
      ...(api ? { api } : {}),
      credentials: { apiKey: API_KEY },
    },
    {
      id: 'trk-go',
      type: 'inject',
      z: 'trk-tab',
      props: [{ p: 'payload' }, { p: 'topic', vt: 'str' }],
      payload,
      payloadType: 'str',
      topic: 'tracked across',
      wires: [['trk-sms']],
    },
    { id: 'trk-sms', type: 'binary-sms', z: 'trk-tab', account: 'trk-acc', to: '41793026727', wires: [[]], ...sms },
    {
      id: 'trk-rep',
      type: 'binary-sms-report',
      z: 'trk-tab',
      account: 'trk-acc',
      mode,
      interval: 1,
      path: '/trk/reports',
      overdue,
      wires: [['trk-keep'], ['trk-keep-late']],
      ...report,
    },
    {
      id: 'trk-keep',
      type: 'function',
      z: 'trk-tab',
      func: "const seen = global.get('seen') || []; seen.push({ messageId: msg.messageId, sent: msg.sent, delivered: msg.delivered, partReports: msg.partReports }); global.set('seen', seen); return null;",
      wires: [],
    },
    {
      id: 'trk-keep-late',
      type: 'function',
      z: 'trk-tab',
      func: "const seen = global.get('seen') || []; seen.push({ overdue: msg.messageId, sent: msg.sent }); global.set('seen', seen); return null;",
      wires: [],
    },
    {
      id: 'trk-inb',
      type: 'infobip-sms-in',
      z: 'trk-tab',
      account: 'trk-acc',
      mode: 'poll',
      interval: 1,
      replyWindow: 60,
      wires: [['trk-keep-reply']],
    },
    {
      id: 'trk-keep-reply',
      type: 'function',
      z: 'trk-tab',
      func: "const seen = global.get('seen') || []; seen.push({ reply: msg.payload, from: msg.from, sent: msg.sent }); global.set('seen', seen); return null;",
      wires: [],
    },
    { id: 'trk-in', type: 'http in', z: 'trk-tab', url: '/seen', method: 'get', wires: [['trk-read']] },
    {
      id: 'trk-read',
      type: 'function',
      z: 'trk-tab',
      func: "msg.payload = global.get('seen') || []; return msg;",
      wires: [['trk-out']],
    },
    { id: 'trk-out', type: 'http response', z: 'trk-tab', wires: [] },
  ];
}

async function seen(red, count) {
  const deadline = Date.now() + 15000;
  for (;;) {
    const response = await red.whenRouted('/api/seen');
    const list = await response.json();
    if (list.length >= count) return list;
    if (Date.now() > deadline) throw new Error(`saw ${list.length} of ${count} reports:\n${red.output().slice(-2000)}`);
    await wait(200);
  }
}

async function sendOne(red, server) {
  const response = await red.whenRouted('/inject/trk-go', { method: 'POST' });
  response.status.should.equal(200);
  const deadline = Date.now() + 10000;
  while (server.requests.length === 0) {
    if (Date.now() > deadline) throw new Error('the send never reached the test server');
    await wait(50);
  }
  await wait(300);
}

describe('tracking sent messages for delivery reports, in real Node-RED processes', function () {
  this.timeout(120000);
  let server;
  const dirs = [];
  const instances = [];
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-tracking-'));
    dirs.push(dir);
    return dir;
  };
  const start = async (options, processOptions) => {
    const red = await startNodeRed({ nodesDir: [root], ...options }, processOptions);
    instances.push(red);
    return red;
  };

  beforeEach(async function () {
    server = await new InfobipTestServer({ apiKey: API_KEY, reportDelayMs: 10 }).start();
    server.holdReports = true;
  });
  afterEach(async function () {
    await Promise.all(instances.splice(0).map((red) => red.stop()));
    await server.stop();
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('msg.sent survives a restart with a localfilesystem store', async function () {
    const userDir = tempDir();
    const contextStorage = { default: { module: 'memory' }, file: { module: 'localfilesystem' } };
    const first = await start({ userDir, contextStorage });
    await first.deploy(flow(server.baseUrl, { trackStore: 'file', mode: 'poll' }));
    await sendOne(first, server);
    await first.stop();

    const second = await start({ userDir, contextStorage });
    server.releaseReports();
    const [report] = await seen(second, 1);
    report.messageId.should.equal(server.requests[0].answer.messages[0].messageId);
    report.delivered.should.be.true();
    report.sent.topic.should.equal('tracked across');
  });

  it('a split message reported in part before a restart and in part after it is reported whole once, with msg.sent', async function () {
    const userDir = tempDir();
    const contextStorage = { default: { module: 'memory' }, file: { module: 'localfilesystem' } };
    const long = {
      trackStore: 'file',
      mode: 'poll',
      api: 'v3',
      payload: Array.from({ length: 300 }, (_, i) => (i % 256).toString(16).padStart(2, '0')).join(' '),
      sms: { longPayload: 'split', dataCoding: 4 },
      report: { parts: 'whole' },
    };
    const first = await start({ userDir, contextStorage });
    await first.deploy(flow(server.baseUrl, long));
    await sendOne(first, server);
    while (server.held.length < 3) await wait(50);
    // The first part's report reaches the first process; the others come after the restart.
    const polled = () => server.reportPolls.reduce((sum, poll) => sum + poll.answered, 0);
    server.deliverReports(server.held.splice(0, 1));
    while (polled() < 1) await wait(50);
    await wait(300);
    (await seen(first, 0)).should.be.empty();
    await first.stop();

    const second = await start({ userDir, contextStorage });
    server.releaseReports();
    const [whole] = await seen(second, 1);
    const ids = server.requests[0].body.messages.map((message) => message.destinations[0].messageId);
    whole.messageId.should.equal(ids[0]);
    whole.delivered.should.be.true();
    whole.partReports.map((report) => report.messageId).should.eql(ids);
    whole.sent.topic.should.equal('tracked across');
    await wait(1500);
    (await seen(second, 1)).should.have.length(1);
  });

  it('overdue survives a restart under another hostname (a re-created container keeps its user directory)', async function () {
    const userDir = tempDir();
    const contextStorage = { default: { module: 'memory' }, file: { module: 'localfilesystem' } };
    const as = (hostname) => ({
      env: { ...process.env, FAKE_HOSTNAME: hostname },
      execArgv: ['-r', path.join(__dirname, '..', 'support', 'fake-hostname.js')],
    });
    const first = await start({ userDir, contextStorage }, as('container-a1'));
    await first.deploy(flow(server.baseUrl, { trackStore: 'file', mode: 'poll' }));
    await sendOne(first, server);
    await first.stop();

    const second = await start({ userDir, contextStorage }, as('container-b2'));
    await second.deploy(flow(server.baseUrl, { trackStore: 'file', mode: 'poll', overdue: 0.02 }));
    const [late] = await seen(second, 1);
    late.overdue.should.equal(server.requests[0].answer.messages[0].messageId);
    late.sent.topic.should.equal('tracked across');
  });

  it("an inbound reply's msg.sent survives a restart with a localfilesystem store", async function () {
    const userDir = tempDir();
    const contextStorage = { default: { module: 'memory' }, file: { module: 'localfilesystem' } };
    const first = await start({ userDir, contextStorage });
    await first.deploy(flow(server.baseUrl, { trackStore: 'file', mode: 'poll' }));
    await sendOne(first, server);
    await first.stop();

    server.receive('41793026727', 'ACK 0F');
    const second = await start({ userDir, contextStorage });
    const [reply] = await seen(second, 1);
    reply.should.have.properties({ reply: 'ACK 0F', from: '41793026727' });
    reply.sent.should.have.properties({ topic: 'tracked across', to: '41793026727' });
    reply.sent.messageId.should.equal(server.requests[0].answer.messages[0].messageId);
  });

  it('a restart with a poll under way: the report fetched while stopping comes after the restart, with msg.sent', async function () {
    const userDir = tempDir();
    const contextStorage = { default: { module: 'memory' }, file: { module: 'localfilesystem' } };
    const first = await start({ userDir, contextStorage });
    await first.deploy(flow(server.baseUrl, { trackStore: 'file', mode: 'poll' }));
    await sendOne(first, server);
    // The next poll is answered in 3 s, with the report: stop Node-RED while it is under way.
    const polls = server.reportPolls.length;
    server.plannedReports.push({ delayMs: 3000 });
    while (server.reportPolls.length === polls) await wait(50);
    server.releaseReports();
    await first.stop();
    server.reports.length.should.equal(0);

    const second = await start({ userDir, contextStorage });
    const [report] = await seen(second, 1);
    report.messageId.should.equal(server.requests[0].answer.messages[0].messageId);
    report.sent.topic.should.equal('tracked across');
  });

  it('without a persistent store, the report still comes after a restart, without msg.sent', async function () {
    const userDir = tempDir();
    const first = await start({ userDir });
    await first.deploy(flow(server.baseUrl, { trackStore: '', mode: 'poll' }));
    await sendOne(first, server);
    await first.stop();

    const second = await start({ userDir });
    server.releaseReports();
    const [report] = await seen(second, 1);
    report.delivered.should.be.true();
    (report.sent === undefined).should.be.true();
  });

  it('instances sharing a store see what the other sent', async function () {
    const contextStorage = {
      default: { module: 'memory' },
      shared: {
        moduleFile: path.join(__dirname, '..', 'support', 'shared-file-store.js'),
        config: { file: path.join(tempDir(), 'shared.json') },
      },
    };
    // A sends (its report node listens for pushes, so it never polls); B polls the reports.
    const sender = await start({ userDir: tempDir(), contextStorage });
    const poller = await start({ userDir: tempDir(), contextStorage });
    await sender.deploy(flow(server.baseUrl, { trackStore: 'shared', mode: 'webhook' }));
    await poller.deploy(flow(server.baseUrl, { trackStore: 'shared', mode: 'poll' }));
    await sendOne(sender, server);
    server.releaseReports();
    const [report] = await seen(poller, 1);
    report.sent.topic.should.equal('tracked across');
  });
});
