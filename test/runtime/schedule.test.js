'use strict';
// Scheduled commands (v3): each scheduled input is a bulk of its own, and control messages
// (msg.schedule) check, pause, resume, move or cancel it through /sms/1/bulks, tracking following.
require('should');
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
  passesCode,
} = require('../support/runtime');
const { until, wait } = require('../../dev/wait');

const sends = (server) => server.requests.filter((record) => record.url === '/sms/3/messages');
const bulkCalls = (server) => server.requests.filter((record) => record.url.startsWith('/sms/1/bulks'));
const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

describe('scheduled commands', function () {
  this.timeout(30000);
  const env = withRuntime({ api: 'v3' });

  /** Sends `msg` and waits for its one outcome (an output or an error). */
  async function outcome(msg) {
    const result = collect(1, 50);
    helper.getNode('sms').receive(msg);
    const { outputs, errors } = await result;
    return errors[0] ?? outputs[0];
  }

  it('three scheduled inputs sent at once, with batching: three requests, three bulks, each output naming its own', async function () {
    await env.load({}, { concurrency: 1, batchSize: 100 });
    // The first request holds the only slot: the others wait together, as a batch would take them.
    env.server.plan({ delayMs: 300 });
    const sendAt = inAnHour();
    const result = collect(5, 200);
    for (let i = 0; i < 3; i++) helper.getNode('sms').receive({ payload: 'ab', sendAt, topic: `own-${i}` });
    // Two inputs naming one bulk (and the same time) may share it, and a request.
    for (let i = 0; i < 2; i++) helper.getNode('sms').receive({ payload: 'ab', sendAt, bulkId: 'fleet-42' });
    const { outputs, errors } = await result;
    errors.should.be.empty();
    const bodies = sends(env.server).map((record) => record.body);
    bodies.should.have.length(4);
    const bulks = bodies.map((body) => body.options.schedule.bulkId);
    new Set(bulks).size.should.equal(4);
    bodies.find((body) => body.options.schedule.bulkId === 'fleet-42').messages.should.have.length(2);
    const own = outputs.filter((msg) => /^own-/.test(msg.topic));
    new Set(own.map((msg) => msg.bulkId)).size.should.equal(3);
    own.forEach((msg) => bulks.should.containEql(msg.bulkId));
    outputs.filter((msg) => msg.bulkId === 'fleet-42').should.have.length(2);
  });

  it('status, pause, resume, reschedule and cancel: each its request, and one output with the answer, the input kept', async function () {
    await env.load();
    const scheduled = await outcome({ payload: 'ab', sendAt: inAnHour() });
    const { bulkId } = scheduled;
    const later = new Date(Date.now() + 7200_000).toISOString();
    const expected = [
      ['status', 'GET', '/sms/1/bulks/status', undefined, { status: 'PENDING' }],
      ['pause', 'PUT', '/sms/1/bulks/status', { status: 'PAUSED' }, { status: 'PAUSED' }],
      ['resume', 'PUT', '/sms/1/bulks/status', { status: 'PROCESSING' }, { status: 'PENDING' }],
      [
        'reschedule',
        'PUT',
        '/sms/1/bulks',
        { sendAt: later.replace('Z', '+0000') },
        { sendAt: later.replace('Z', '+0000') },
      ],
      ['cancel', 'PUT', '/sms/1/bulks/status', { status: 'CANCELED' }, { status: 'CANCELED' }],
    ];
    for (const [schedule, method, path, body, answer] of expected) {
      const out = await outcome({
        schedule,
        bulkId,
        sendAt: schedule === 'reschedule' ? later : undefined,
        topic: schedule,
      });
      out.should.not.have.property('error');
      out.topic.should.equal(schedule);
      out.bulkId.should.equal(bulkId);
      out.payload.should.eql({ bulkId, ...answer });
      const call = bulkCalls(env.server).at(-1);
      call.method.should.equal(method);
      call.url.should.equal(`${path}?bulkId=${encodeURIComponent(bulkId)}`);
      if (body) call.body.should.eql(body);
      call.headers.authorization.should.equal('App test-api-key-0123456789');
    }
    sends(env.server).should.have.length(1);
  });

  it('Infobip refuses an unknown bulk and a cancelled one: its status and text reach the Catch node, not retried', async function () {
    await env.load();
    const unknown = await outcome({ schedule: 'status', bulkId: 'no-such-bulk' });
    unknown.error.message.should.match(/404.*Bulk not found/);
    unknown.statusCode.should.equal(404);
    const { bulkId } = await outcome({ payload: 'ab', sendAt: inAnHour() });
    (await outcome({ schedule: 'cancel', bulkId })).should.not.have.property('error');
    const again = await outcome({ schedule: 'cancel', bulkId });
    again.error.message.should.match(/400.*cannot be changed/);
    if (passesCode) again.error.code.should.equal('http');
    bulkCalls(env.server).should.have.length(3);
  });

  const bad = [
    ['no msg.bulkId', { schedule: 'cancel' }, /msg\.bulkId is missing/],
    ['an empty msg.bulkId', { schedule: 'cancel', bulkId: '' }, /msg\.bulkId is missing/],
    ['a msg.bulkId of 101 characters', { schedule: 'cancel', bulkId: 'b'.repeat(101) }, /Invalid msg\.bulkId/],
    ['an unknown msg.schedule', { schedule: 'delete', bulkId: 'b1' }, /Invalid msg\.schedule "delete"/],
    ['reschedule without msg.sendAt', { schedule: 'reschedule', bulkId: 'b1' }, /Invalid msg\.sendAt/],
    ['reschedule to the past', { schedule: 'reschedule', bulkId: 'b1', sendAt: '2020-01-01T00:00:00Z' }, /msg\.sendAt/],
  ];
  for (const [name, msg, message] of bad) {
    it(`refuses ${name} before any request, with code input`, async function () {
      await env.load();
      const refused = await outcome(msg);
      refused.error.message.should.match(message);
      if (passesCode) refused.error.code.should.equal('input');
      env.server.requests.should.be.empty();
    });
  }
});

describe('a control message on a v1 account', function () {
  const env = withRuntime({ api: 'v1' });
  it('is refused before any request: bulks need v3', async function () {
    await env.load();
    const result = collect(1, 50);
    helper.getNode('sms').receive({ schedule: 'status', bulkId: 'b1' });
    const { errors } = await result;
    errors[0].error.message.should.match(/msg\.schedule needs Infobip's v3 API/);
    env.server.requests.should.be.empty();
  });
});

describe('reports of scheduled commands', function () {
  this.timeout(40000);
  const env = withRuntime({ api: 'v3' });
  let seen;

  async function load(overdue) {
    env.server.reportDelayMs = 200;
    const flow = reportFlow(env.server.baseUrl, { overdue }, { api: 'v3' });
    await helper.load([infobipAccount, binarySms, binarySmsReport, catchNode], flow, CREDENTIALS);
    seen = { reports: [], late: [], out: [] };
    helper.getNode('reports').on('input', (msg) => seen.reports.push({ msg, at: Date.now() }));
    helper.getNode('late').on('input', (msg) => seen.late.push(msg));
    helper.getNode('out').on('input', (msg) => seen.out.push(msg));
  }
  const control = async (msg) => {
    const before = seen.out.length;
    helper.getNode('sms').receive(msg);
    await until(() => seen.out.length > before, 5000, `the answer to ${msg.schedule}`);
    return seen.out.at(-1);
  };

  it('cancelled: never delivered, no report, never overdue; the output names its ids', async function () {
    // Overdue after 0.02 min (1.2 s), counted from the scheduled time (4 s from now).
    await load(0.02);
    helper.getNode('sms').receive({ payload: 'ab', sendAt: new Date(Date.now() + 4000).toISOString(), topic: 'c' });
    await until(() => seen.out.length === 1, 5000, 'the scheduled output');
    const { bulkId, messageId, to } = seen.out[0];
    const cancelled = await control({ schedule: 'cancel', bulkId });
    cancelled.messageIds.should.eql({ [to]: messageId });
    await wait(7000);
    seen.reports.should.be.empty();
    seen.late.should.be.empty();
    env.server.handsets.should.be.empty();
  });

  it('rescheduled: reported after the new time with msg.sent, never overdue against the old one', async function () {
    // Overdue after 0.05 min (3 s): against the old time (3 s from now) it would be overdue at 6 s.
    await load(0.05);
    const start = Date.now();
    helper.getNode('sms').receive({ payload: 'ab', sendAt: new Date(start + 3000).toISOString(), topic: 'moved' });
    await until(() => seen.out.length === 1, 5000, 'the scheduled output');
    const newTime = start + 8000;
    await control({ schedule: 'reschedule', bulkId: seen.out[0].bulkId, sendAt: new Date(newTime).toISOString() });
    await until(() => seen.reports.length === 1, 15000, 'the report');
    seen.reports[0].at.should.be.aboveOrEqual(newTime);
    seen.reports[0].msg.sent.topic.should.equal('moved');
    await wait(1500);
    seen.late.should.be.empty();
    seen.reports.should.have.length(1);
  });
});
