'use strict';
// Lost answers (v3): a message whose answer never came, or came without some destinations, is
// looked up in Infobip's message logs; with idempotency on, what the logs never showed is sent
// once more with the same ids. Against a stand-in whose logs lag and whose repeats are rejected.
const should = require('should');
const Ajv = require('ajv');
const {
  helper,
  binarySms,
  infobipAccount,
  binarySmsReport,
  catchNode,
  collect,
  withRuntime,
  CREDENTIALS,
  reportFlow,
  smsFlow,
  statusesOf,
  passesCode,
} = require('../support/runtime');
const { until, wait } = require('../../dev/wait');

const ajv = new Ajv({ strict: false });
ajv.addFormat('int32', true);
ajv.addFormat('date-time', true);
const validBody = ajv.compile(require('../fixtures/sms-v3-request.schema.json'));

const THREE = ['41793026727', '41793026834', '41793026999'];
/** What a send answers when Infobip accepted it but its answer is lost on the way. */
const LOST = {
  hang: { afterAccepting: true, hang: true },
  reset: { afterAccepting: true, resetAfterBody: true },
  502: { afterAccepting: true, status: 502, raw: '<html>Bad Gateway</html>', contentType: 'text/html' },
  504: { afterAccepting: true, status: 504, raw: '<html>Gateway Timeout</html>', contentType: 'text/html' },
};
const idsOf = (record) => record.body.messages.flatMap((message) => message.destinations.map((d) => d.messageId));
const sends = (server) => server.requests.filter((record) => record.url === '/sms/3/messages');

describe('a v3 message whose answer is lost', function () {
  this.timeout(30000);
  const env = withRuntime({ api: 'v3' });

  async function load(accountOverrides = {}, smsOverrides = {}) {
    await env.load(smsOverrides, { resolveUnknown: 3, timeout: 1, ...accountOverrides });
  }

  for (const [name, lost] of Object.entries(LOST)) {
    it(`is found in the logs after a ${name}: three destinations, one lookup, one output each`, async function () {
      env.server.logDelayMs = 300;
      env.server.plan(lost);
      await load();
      const result = collect(3, 300);
      const started = Date.now();
      helper.getNode('sms').receive({ payload: 'c0ffee', to: THREE, topic: 'found' });
      const { outputs, errors } = await result;
      errors.should.be.empty();
      outputs
        .map((msg) => msg.to)
        .sort()
        .should.eql([...THREE].sort());
      const ids = idsOf(sends(env.server)[0]);
      for (const msg of outputs) {
        msg.resolvedBy.should.equal('logs');
        msg.topic.should.equal('found');
        msg.payload.messageId.should.equal(msg.messageId);
        msg.payload.destination.should.equal(msg.to);
        ids.should.containEql(msg.messageId);
      }
      env.server.logLookups.should.have.length(1);
      env.server.logLookups[0].ids.sort().should.eql([...ids].sort());
      sends(env.server).should.have.length(1);
      // Looked up about a second after the failure, not at once.
      (env.server.logLookups[0].at - started).should.be.aboveOrEqual(900);
    });
  }

  it('a partial answer: the listed destinations at once, the one left out found in the logs', async function () {
    env.server.logDelayMs = 0;
    env.server.plan({ partial: true });
    await load();
    const outputs = [];
    helper.getNode('out').on('input', (msg) => outputs.push({ msg, at: Date.now() }));
    const done = collect(3, 300);
    helper.getNode('sms').receive({ payload: 'ab', to: THREE });
    const { errors } = await done;
    errors.should.be.empty();
    outputs.slice(0, 2).forEach(({ msg }) => should(msg.resolvedBy).be.undefined());
    const last = outputs[2].msg;
    last.resolvedBy.should.equal('logs');
    env.server.logLookups.should.have.length(1);
    env.server.logLookups[0].ids.should.eql([last.messageId]);
    sends(env.server).should.have.length(1);
  });

  it('a split payload is found part by part: its output comes once every part showed', async function () {
    // The second part shows in the logs 2.5 s after the first.
    env.server.logDelayMs = (log) => (/\.2$/.test(log.messageId) ? 2500 : 0);
    env.server.plan(LOST.hang);
    await load({ resolveUnknown: 10 }, { longPayload: 'split', dataCoding: '4' });
    const result = collect(1, 300);
    helper.getNode('sms').receive({ payload: Buffer.alloc(200, 7), to: '41793026727' });
    const { outputs, errors } = await result;
    errors.should.be.empty();
    outputs[0].resolvedBy.should.equal('logs');
    outputs[0].partIds.should.have.length(2);
    outputs[0].partEntries.map((entry) => entry.messageId).should.eql(outputs[0].partIds);
    env.server.logLookups.length.should.be.aboveOrEqual(2);
    // The first part, once found, is not asked for again.
    env.server.logLookups.at(-1).ids.should.eql([outputs[0].partIds[1]]);
  });

  it('not found, idempotency off: "delivery unknown" when the window closes, never sent again', async function () {
    // Never reached Infobip: the connection hangs before it is accepted.
    env.server.plan({ hang: true });
    await load({ resolveUnknown: 3 });
    const result = collect(1, 300);
    let failedAt;
    helper.getNode('caught').on('input', () => (failedAt = Date.now()));
    const started = Date.now();
    helper.getNode('sms').receive({ payload: 'ab', to: THREE.slice(0, 2), topic: 'lost' });
    const { outputs, errors } = await result;
    outputs.should.be.empty();
    errors.should.have.length(1);
    const [msg] = errors;
    msg.error.message.should.match(/No answer from Infobip within 1\.\d s/);
    msg.error.message.should.match(/logs did not show it within 3 s/);
    msg.error.message.should.match(/not sent again/);
    if (passesCode) msg.error.code.should.equal('unknown');
    msg.to.should.eql(THREE.slice(0, 2));
    Object.keys(msg.messageIds).should.eql(THREE.slice(0, 2));
    const lookups = env.server.logLookups;
    lookups.length.should.be.aboveOrEqual(2);
    // The last lookup came when the window closed: 3 s after the failure, which came 1 s (Timeout) after the send.
    (lookups.at(-1).at - started).should.be.aboveOrEqual(3900);
    failedAt.should.be.aboveOrEqual(lookups.at(-1).at);
    sends(env.server).should.have.length(1);
    statusesOf('sms')
      .map((status) => status.text)
      .should.containEql("looking up 2 in Infobip's logs");
  });

  it('not found, idempotency on: sent once more with the same ids, one SMS reaches the device', async function () {
    env.server.idempotent = true;
    env.server.plan({ hang: true });
    await load({ resolveUnknown: 2, idempotent: true });
    const result = collect(2, 300);
    helper.getNode('sms').receive({ payload: 'ab', to: THREE.slice(0, 2) });
    const { outputs, errors } = await result;
    errors.should.be.empty();
    outputs.forEach((msg) => msg.resolvedBy.should.equal('resend'));
    const [first, again] = sends(env.server);
    should.exist(again);
    idsOf(again).should.eql(idsOf(first));
    validBody(again.body).should.be.true();
    outputs
      .map((msg) => msg.messageId)
      .sort()
      .should.eql(idsOf(first).sort());
    env.server.handsets.should.have.length(2);
    env.server.repeats.should.be.empty();
    sends(env.server).should.have.length(2);
  });

  it('a split payload, idempotency on: only the part the logs never showed goes again, with its id', async function () {
    env.server.idempotent = true;
    env.server.plan(LOST.hang);
    // The second part never shows in the logs within the window.
    env.server.logDelayMs = (log) => (/\.2$/.test(log.messageId) ? 60_000 : 0);
    await load({ resolveUnknown: 2, idempotent: true }, { longPayload: 'split', dataCoding: '4' });
    const result = collect(1, 300);
    helper.getNode('sms').receive({ payload: Buffer.alloc(200, 7), to: '41793026727' });
    const { outputs, errors } = await result;
    errors.should.be.empty();
    outputs[0].resolvedBy.should.equal('resend');
    const [first, again] = sends(env.server);
    idsOf(again).should.eql([idsOf(first)[1]]);
    again.body.messages.should.have.length(1);
    validBody(again.body).should.be.true();
    // The repeat of an accepted part reaches no device.
    env.server.repeats.map((repeat) => repeat.messageId).should.eql([idsOf(first)[1]]);
  });

  it('logs answering 500: "delivery unknown" saying why the logs could not be read, never sent again', async function () {
    env.server.idempotent = true;
    env.server.plan(LOST.hang);
    env.server.plannedLogs.push(
      ...Array.from({ length: 10 }, () => ({
        status: 500,
        body: { errorCode: 'E500', description: 'Internal error' },
      })),
    );
    await load({ resolveUnknown: 2, idempotent: true });
    const result = collect(1, 300);
    helper.getNode('sms').receive({ payload: 'ab' });
    const { errors } = await result;
    errors[0].error.message.should.match(/logs could not be read \(HTTP 500: E500: Internal error\)/);
    sends(env.server).should.have.length(1);
  });

  it('a logs answer naming ids that were not asked for is ignored with one warning, never emitted', async function () {
    env.server.plan(LOST.hang);
    env.server.plannedLogs.push({ body: { results: [{ messageId: 'someone-else', destination: '41790000000' }] } });
    await load({ resolveUnknown: 2 });
    const result = collect(1, 300);
    helper.getNode('sms').receive({ payload: 'ab' });
    const { outputs, errors } = await result;
    errors.should.be.empty();
    outputs.should.have.length(1);
    outputs[0].to.should.equal('41793026727');
    const warnings = helper.getNode('acc1').warn.args.map(([text]) => String(text));
    warnings.filter((text) => /named 1 entries that were not asked for/.test(text)).should.have.length(1);
  });

  it('an account saved without the setting: "delivery unknown" at once, no lookup', async function () {
    env.server.plan(LOST.hang);
    await env.load({}, { timeout: 1 });
    const result = collect(1, 300);
    helper.getNode('sms').receive({ payload: 'ab' });
    const { errors } = await result;
    errors[0].error.message.should.match(/No answer from Infobip within 1\.\d s: the delivery is unknown/);
    errors[0].error.message.should.not.match(/logs/);
    await wait(1500);
    env.server.logLookups.should.be.empty();
  });

  for (const deployment of ['nodes', 'full']) {
    it(`a ${deployment === 'full' ? 'full' : 'modified-nodes'} deploy during a resolution ends it "delivery unknown" once, and looks up nothing more`, async function () {
      env.server.plan({ hang: true });
      await load({ resolveUnknown: 30 });
      const caught = [];
      helper.getNode('caught').on('input', (msg) => caught.push(msg));
      helper.getNode('sms').receive({ payload: 'ab', topic: 'deployed' });
      await until(() => env.server.logLookups.length === 1, 5000, 'the first lookup');
      const flow = smsFlow(env.server.baseUrl, { name: 'renamed' }, { api: 'v3', resolveUnknown: 30, timeout: 1 });
      await helper.setFlows(flow, deployment, CREDENTIALS);
      const lookups = env.server.logLookups.length;
      await wait(3000);
      env.server.logLookups.length.should.equal(lookups);
      sends(env.server).should.have.length(1);
      if (deployment === 'nodes') {
        // Node-RED delivers what a node ends while a modified-nodes deploy closes it.
        caught.should.have.length(1);
        caught[0].error.message.should.match(/The node stopped before Infobip's message logs showed it/);
      } else {
        // A full deploy drops it (documented); nothing else comes later either.
        caught.length.should.be.belowOrEqual(1);
      }
    });
  }
});

describe('reports of a message sent once more', function () {
  this.timeout(40000);
  const env = withRuntime({ api: 'v3' });

  async function load(overdue) {
    const flow = reportFlow(
      env.server.baseUrl,
      { overdue },
      { api: 'v3', resolveUnknown: 2, idempotent: true, timeout: 1 },
    );
    await helper.load([infobipAccount, binarySms, binarySmsReport, catchNode], flow, CREDENTIALS);
    const seen = { reports: [], late: [], sent: [] };
    helper.getNode('reports').on('input', (msg) => seen.reports.push(msg));
    helper.getNode('late').on('input', (msg) => seen.late.push(msg));
    helper.getNode('out').on('input', (msg) => seen.sent.push(msg));
    return seen;
  }

  for (const order of ['the repeat first', 'the original first']) {
    it(`rejected as a repeat while the logs lag (${order}): one report, DELIVERED, with msg.sent; no REJECTED, no overdue`, async function () {
      env.server.idempotent = true;
      // Accepted, answer lost, and the logs show it only long after the window.
      env.server.logDelayMs = 60_000;
      env.server.plan(LOST.hang);
      if (order === 'the repeat first') {
        env.server.reportDelayMs = 7000;
        env.server.repeatReportDelayMs = 0;
      } else {
        env.server.reportDelayMs = 200;
        env.server.repeatReportDelayMs = 0;
      }
      // Overdue 0.15 min: a REJECTED report of the repeat waits 9 s for the original's.
      const seen = await load(0.15);
      helper.getNode('sms').receive({ payload: 'ab', topic: 'resent' });
      await until(() => seen.sent.length === 1, 10000, 'the resend answer');
      seen.sent[0].resolvedBy.should.equal('resend');
      await until(() => env.server.repeats.length === 1, 5000, 'the repeat at Infobip');
      await until(() => seen.reports.length >= 1, 15000, 'the report');
      // Past the REJECTED report's hold and the overdue time.
      await wait(10000);
      seen.reports.should.have.length(1);
      seen.reports[0].payload.status.groupName.should.equal('DELIVERED');
      seen.reports[0].sent.topic.should.equal('resent');
      seen.late.should.be.empty();
      env.server.handsets.should.have.length(1);
    });
  }
});
