'use strict';
// What only Infobip's v3 API (POST /sms/3/messages) lets a flow say, and the ids the node
// chooses itself; the contract both APIs share runs in send.test.js and errors.test.js.
const http = require('node:http');
const should = require('should');
const {
  helper,
  binarySms,
  infobipAccount,
  binarySmsReport,
  httpNodeApp,
  catchNode,
  smsFlow,
  collect,
  withRuntime,
  CREDENTIALS,
  statusesOf,
  lastStatusOf,
  reportFlow,
} = require('../support/runtime');
const { until } = require('../../dev/wait');
const { TWICE_REPORTED } = require('../../dev/infobip-server');

/** The 31st of the next month that has no 31st (at most three months ahead: within what Infobip schedules). */
const IMPOSSIBLE_DAY = (() => {
  const day = new Date();
  day.setUTCDate(1);
  for (;;) {
    day.setUTCMonth(day.getUTCMonth() + 1);
    const [year, month] = [day.getUTCFullYear(), day.getUTCMonth() + 1];
    if (new Date(Date.UTC(year, month, 0)).getUTCDate() < 31)
      return `${year}-${String(month).padStart(2, '0')}-31T08:00Z`;
  }
})();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('binary-sms on a v3 account', function () {
  const env = withRuntime({ api: 'v3' });

  async function send(msg, smsOverrides = {}, expected = 1) {
    await env.load(smsOverrides);
    const result = collect(expected, 150);
    helper.getNode('sms').receive(msg);
    return result;
  }
  const body = () => env.server.requests[0].body;

  describe('the request', function () {
    it('is one message with our own id per destination; outputs carry those ids and the entries untouched', async function () {
      const { outputs, errors } = await send(
        { payload: '0f c2', to: ['41793026727', '41793026834'], from: 'InfoSMS' },
        {},
        2,
      );
      errors.should.be.empty();
      env.server.requests[0].url.should.equal('/sms/3/messages');
      const [message] = body().messages;
      message.sender.should.equal('InfoSMS');
      message.content.should.eql({ hex: '0f c2', dataCoding: 0, esmClass: 0 });
      message.destinations.map((destination) => destination.to).should.eql(['41793026727', '41793026834']);
      const ids = message.destinations.map((destination) => destination.messageId);
      ids.forEach((id) => id.should.match(UUID));
      new Set(ids).size.should.equal(2);
      should(body().options).be.undefined();
      outputs.map((msg) => msg.messageId).should.eql(ids);
      outputs.forEach((msg, index) => {
        msg.to.should.equal(message.destinations[index].to);
        msg.payload.should.eql(env.server.requests[0].answer.messages[index]);
        msg.payload.details.messageCount.should.equal(1);
        msg.bulkId.should.equal(env.server.requests[0].answer.bulkId);
      });
    });
    it('Valid for (node) and msg.validity (minutes; fractions in seconds) become the validity period', async function () {
      await send({ payload: 'ab' }, { validity: '30' });
      body().messages[0].options.validityPeriod.should.eql({ amount: 30, timeUnit: 'MINUTES' });
      env.server.reset();
      helper.getNode('sms').receive({ payload: 'ab', validity: 1.5 });
      await until(() => env.server.requests.length === 1, 3000, 'the second request');
      body().messages[0].options.validityPeriod.should.eql({ amount: 90, timeUnit: 'SECONDS' });
    });
    it('msg.sendAt (Date, ISO with offset, epoch ms) becomes the schedule, written as Infobip writes dates', async function () {
      const at = Date.now() + 3600_000;
      const expected = new Date(at).toISOString().replace('Z', '+0000');
      for (const sendAt of [new Date(at), new Date(at).toISOString(), at]) {
        env.server?.reset();
        const { errors } = await send({ payload: 'ab', sendAt });
        errors.should.be.empty();
        body().options.schedule.sendAt.should.equal(expected);
        await helper.unload();
      }
      const offset = await send({ payload: 'ab', sendAt: '2031-01-02T10:00:00+01:00' });
      offset.errors[0].error.message.should.match(/more than 180 days ahead/);
    });
    it('msg.callbackData and msg.flash travel inside the message', async function () {
      await send({ payload: 'ab', callbackData: 'device-7/cmd-42', flash: true });
      const [message] = body().messages;
      message.webhooks.should.eql({ callbackData: 'device-7/cmd-42' });
      message.options.flash.should.be.true();
    });
  });

  describe('refused before sending', function () {
    const cases = [
      ['msg.validity 0', { validity: 0 }, /Invalid validity "0" in msg\.validity/],
      ['msg.validity above 48 h', { validity: 2881 }, /Invalid validity "2881" in msg\.validity: .*at most 2880/],
      ['msg.validity as text', { validity: '10' }, /Invalid validity "10" in msg\.validity/],
      ['an unparsable msg.sendAt', { sendAt: 'tomorrow' }, /Invalid msg\.sendAt "tomorrow"/],
      ['an ISO msg.sendAt without an offset', { sendAt: '2030-01-01T10:00:00' }, /Invalid msg\.sendAt/],
      [
        'a msg.sendAt on a day that does not exist',
        { sendAt: IMPOSSIBLE_DAY },
        /Invalid msg\.sendAt "\d{4}-\d{2}-31T08:00Z"/,
      ],
      ['msg.validity under one second', { validity: 1 / 150 }, /Invalid validity "0\.00666+7" in msg\.validity/],
      ['a msg.sendAt two minutes ago', { sendAt: Date.now() - 120_000 }, /more than a minute in the past/],
      ['a msg.sendAt 181 days ahead', { sendAt: Date.now() + 181 * 86400_000 }, /more than 180 days ahead/],
      ['msg.callbackData over 4000 characters', { callbackData: 'x'.repeat(4001) }, /Invalid msg\.callbackData/],
      ['msg.callbackData that is not a string', { callbackData: { a: 1 } }, /Invalid msg\.callbackData/],
      ['msg.flash that is not a boolean', { flash: 'yes' }, /Invalid msg\.flash "yes": give true or false/],
    ];
    for (const [name, fields, text] of cases) {
      it(`refuses ${name}`, async function () {
        const { outputs, errors } = await send({ payload: 'ab', ...fields });
        outputs.should.be.empty();
        errors.should.have.length(1);
        errors[0].error.message.should.match(text);
        env.server.requests.should.be.empty();
      });
    }
    it('an invalid Valid for is shown at deploy and refuses every message', async function () {
      const { errors } = await send({ payload: 'ab' }, { validity: '5000' });
      errors[0].error.message.should.match(/"Valid for" setting/);
      String(helper.getNode('sms').warn.args[0][0]).should.match(/"Valid for" setting/);
      env.server.requests.should.be.empty();
    });
  });

  describe("Infobip's v3 error bodies", function () {
    it('name the first violation, by our field where it is one', async function () {
      env.server.plan({
        status: 400,
        body: {
          errorCode: 'E400',
          description: 'Request contains invalid data',
          violations: [{ property: 'messages[0].destinations[0].to', violation: 'is not a valid phone number' }],
        },
      });
      const { errors } = await send({ payload: 'ab' });
      errors[0].error.message.should.equal(
        'Error: Infobip answered HTTP 400 (E400: Request contains invalid data; msg.to: is not a valid phone number)',
      );
    });
  });
});

describe('a v1 account', function () {
  const env = withRuntime({ api: 'v1' });

  it('refuses what only v3 offers, saying so, and sends nothing', async function () {
    await env.load();
    const result = collect(1, 150);
    helper.getNode('sms').receive({ payload: 'ab', validity: 10, flash: true });
    const { errors } = await result;
    errors[0].error.message.should.equal(
      "Error: msg.validity, msg.flash needs Infobip's v3 API: set the account's API to v3 (nothing was sent)",
    );
    env.server.requests.should.be.empty();
  });
  it("a node's Valid for on a v1 account is named as the node's setting", async function () {
    await env.load({ validity: '10' });
    const result = collect(1, 150);
    helper.getNode('sms').receive({ payload: 'ab' });
    const { errors } = await result;
    errors[0].error.message.should.match(/^Error: the node's Valid for needs Infobip's v3 API/);
    env.server.requests.should.be.empty();
  });
  it("a node's Valid for on a v1 account is flagged at deploy: one warning and a red status", async function () {
    await env.load({ validity: '10' });
    helper
      .getNode('sms')
      .warn.args.map((args) => String(args[0]))
      .should.eql([
        "The node's \"Valid for\" needs Infobip's v3 API, and this node's account sends through v1: set the account's API to v3, or empty Valid for (every message fails until then, nothing is sent)",
      ]);
    await until(() => helper.getNode('sms').status.callCount > 0, 2000, 'the start-up status');
    lastStatusOf('sms').fill.should.equal('red');
  });
  it('saved without the API setting (every older flow) still sends through v1', async function () {
    const flow = smsFlow(env.server.baseUrl);
    should(flow.find((node) => node.id === 'acc1').api).be.undefined();
    await helper.load([infobipAccount, binarySms, catchNode], flow, CREDENTIALS);
    const result = collect(1, 150);
    helper.getNode('sms').receive({ payload: 'ab' });
    (await result).outputs.should.have.length(1);
    env.server.requests[0].url.should.equal('/sms/1/binary/single');
  });
});

describe('delivery reports of a v3 account', function () {
  const env = withRuntime({ api: 'v3' });
  let reports;
  let sent;

  async function load(accountOverrides = {}, reportOverrides = {}) {
    const flow = reportFlow(env.server.baseUrl, reportOverrides, { api: 'v3', ...accountOverrides });
    await helper.load([infobipAccount, binarySms, binarySmsReport, catchNode], flow, CREDENTIALS);
    reports = [];
    sent = [];
    helper.getNode('reports').on('input', (msg) => reports.push(msg));
    helper.getNode('out').on('input', (msg) => sent.push(msg));
  }

  it('come from /sms/3/reports, with msg.sent and msg.final', async function () {
    env.server.reportDelayMs = 50;
    await load();
    helper.getNode('sms').receive({ payload: 'ab', topic: 'v3 command' });
    await until(() => reports.length === 1, 5000, 'the report');
    env.server.reportPolls.every((poll) => poll.url.startsWith('/sms/3/reports')).should.be.true();
    reports[0].messageId.should.equal(sent[0].messageId);
    reports[0].sent.topic.should.equal('v3 command');
    reports[0].final.should.be.true();
    reports[0].payload.messageCount.should.equal(1);
  });

  it('a report that comes before Infobip answered the send is still tied to the message', async function () {
    env.server.reportDelayMs = 0;
    env.server.lateAnswerMs = 2500;
    await load();
    helper.getNode('sms').receive({ payload: 'ab', topic: 'fast report' });
    await until(() => reports.length === 1, 8000, 'the report');
    sent.should.be.empty();
    reports[0].sent.topic.should.equal('fast report');
    await until(() => sent.length === 1, 5000, 'the answer');
    sent[0].messageId.should.equal(reports[0].messageId);
  });

  it('"delivery unknown" names our ids in msg.messageIds, and a later report resolves it', async function () {
    env.server.reportDelayMs = 3000;
    env.server.delayMs = 2500;
    await load({ timeout: 1 });
    const failed = collect(1, 100);
    helper.getNode('sms').receive({ payload: 'ab', to: ['41793026727', '41793026834'], topic: 'lost answer' });
    const { errors } = await failed;
    errors[0].error.message.should.match(/delivery is unknown/);
    Object.keys(errors[0].messageIds).should.eql(['41793026727', '41793026834']);
    Object.values(errors[0].messageIds).forEach((id) => id.should.match(UUID));
    await until(() => reports.length === 2, 10000, 'the later reports');
    for (const report of reports) {
      report.messageId.should.equal(errors[0].messageIds[report.to]);
      report.sent.topic.should.equal('lost answer');
    }
  });

  it('a message reported twice as its status changes: each status once, each with msg.sent, not overdue', async function () {
    env.server.reportDelayMs = 50;
    await load({}, { overdue: 0.02 });
    const overdue = [];
    helper.getNode('late').on('input', (msg) => overdue.push(msg));
    helper.getNode('sms').receive({ payload: 'ab', to: TWICE_REPORTED, topic: 'twice' });
    await until(() => reports.length === 2, 8000, 'both reports');
    reports.map((msg) => msg.payload.status.name).should.eql(['DELIVERED_TO_OPERATOR', 'DELIVERED_TO_HANDSET']);
    reports.forEach((msg) => msg.sent.topic.should.equal('twice'));
    reports.map((msg) => msg.final).should.eql([true, true]);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    overdue.should.be.empty();
    reports.should.have.length(2);
  });
});

describe('reports pushed to the Public URL of a v3 account', function () {
  const env = withRuntime({ api: 'v3' });
  const TOKEN = 'pu5h-t0ken-9f3a-0123456789';
  let front;
  let reports;
  beforeEach(async function () {
    // The helper does not serve RED.httpNode: serve it here, as Node-RED serves it under httpNodeRoot.
    front = http.createServer((req, res) => httpNodeApp()(req, res));
    await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
  });
  afterEach(() => new Promise((resolve) => front.close(resolve)));

  async function load(reportOverrides = {}) {
    const flow = reportFlow(
      env.server.baseUrl,
      { mode: 'webhook', publicUrl: `http://127.0.0.1:${front.address().port}`, ...reportOverrides },
      { api: 'v3' },
    );
    await helper.load([infobipAccount, binarySms, binarySmsReport, catchNode], flow, {
      ...CREDENTIALS,
      rep: { token: TOKEN },
    });
    reports = [];
    helper.getNode('reports').on('input', (msg) => reports.push(msg));
  }

  it('every message asks Infobip to push its reports there, token included: no portal step', async function () {
    env.server.reportDelayMs = 50;
    await load();
    const sent = collect(1, 100);
    helper.getNode('sms').receive({ payload: 'ab', topic: 'pushed to me' });
    const { outputs } = await sent;
    env.server.requests[0].body.messages[0].webhooks.should.eql({
      delivery: { url: `http://127.0.0.1:${front.address().port}/infobip/reports?token=${TOKEN}` },
    });
    await until(() => reports.length === 1, 5000, 'the pushed report');
    reports[0].sent.topic.should.equal('pushed to me');
    await until(() => env.server.pushes.length === 1, 2000, 'the push to be answered');
    env.server.pushes[0].status.should.equal(200);
    // The token went to Infobip in the body only.
    const visible = JSON.stringify({
      outputs,
      reports,
      statuses: [helper.getNode('sms').status.args, helper.getNode('rep').status.args],
      logs: helper.log().args,
    });
    visible.should.not.containEql(TOKEN);
  });

  it('an error that echoes the URL shows it without the token', async function () {
    await load();
    env.server.plan({
      status: 400,
      body: {
        errorCode: 'E400',
        description: 'Bad request',
        violations: [
          {
            property: 'messages[0].webhooks.delivery.url',
            violation: `not reachable: http://x/infobip/reports?token=${TOKEN}`,
          },
        ],
      },
    });
    const failed = collect(1, 100);
    helper.getNode('sms').receive({ payload: 'ab' });
    const { errors } = await failed;
    errors[0].error.message.should.not.containEql(TOKEN);
    errors[0].error.message.should.match(/token=\*\*\*/);
  });

  it('without a Public URL, messages carry no report URL (the portal setting applies)', async function () {
    await load({ publicUrl: '' });
    const sent = collect(1, 100);
    helper.getNode('sms').receive({ payload: 'ab' });
    await sent;
    should(env.server.requests[0].body.messages[0].webhooks).be.undefined();
  });
});

describe('several waiting messages in one v3 request', function () {
  const env = withRuntime({ api: 'v3' });

  it('messages waiting for the account share requests; each keeps its own outputs and done', async function () {
    env.server.delayMs = 100;
    await env.load({}, { concurrency: 1, batchSize: 10 });
    const result = collect(25 * 2, 200);
    for (let seq = 0; seq < 25; seq++) {
      helper.getNode('sms').receive({ payload: [seq], to: ['41793026727', '41793026834'], seq });
    }
    const { outputs, errors } = await result;
    errors.should.be.empty();
    outputs.should.have.length(50);
    // The first went alone (the slot was free); the others waited and went ten at a time.
    env.server.requests.map((record) => record.body.messages.length).should.eql([1, 10, 10, 4]);
    for (let seq = 0; seq < 25; seq++) {
      const own = outputs.filter((msg) => msg.seq === seq);
      own.map((msg) => msg.to).should.eql(['41793026727', '41793026834']);
      own.forEach((msg, index) => msg.parts.should.have.properties({ index, count: 2 }));
      own[0].parts.id.should.equal(own[1].parts.id);
      own[0].messageId.should.not.equal(own[1].messageId);
    }
    const bulks = new Set(outputs.map((msg) => msg.bulkId));
    bulks.size.should.equal(4);
    // The status counts messages, not requests (one request was in flight at a time).
    const counts = statusesOf('sms').map((status) => Number(/^sending \((\d+)\)$/.exec(status.text)?.[1] ?? 0));
    Math.max(...counts).should.be.aboveOrEqual(5);
  });

  it('a 400 naming one message fails that one with its violation; the others are sent again', async function () {
    env.server.delayMs = 100;
    await env.load({}, { concurrency: 1, batchSize: 10, retries: 0 });
    env.server.plan(
      {},
      {
        status: 400,
        body: {
          errorCode: 'E400',
          description: 'Request contains invalid data',
          violations: [{ property: 'messages[1].content.hex', violation: 'is too long' }],
        },
      },
    );
    const result = collect(4, 200);
    for (let seq = 0; seq < 4; seq++) helper.getNode('sms').receive({ payload: [seq], seq });
    const { outputs, errors } = await result;
    errors.should.have.length(1);
    errors[0].seq.should.equal(2);
    errors[0].error.message.should.equal(
      'Error: Infobip answered HTTP 400 (E400: Request contains invalid data; msg.payload: is too long)',
    );
    outputs
      .map((msg) => msg.seq)
      .sort()
      .should.eql([0, 1, 3]);
    env.server.requests.map((record) => record.body.messages.length).should.eql([1, 3, 2]);
  });

  it('Messages per request 1: one request per message, as before', async function () {
    env.server.delayMs = 50;
    await env.load({}, { concurrency: 1, batchSize: 1 });
    const result = collect(5, 200);
    for (let seq = 0; seq < 5; seq++) helper.getNode('sms').receive({ payload: [seq], seq });
    (await result).outputs.should.have.length(5);
    env.server.requests.should.have.length(5);
  });
});
