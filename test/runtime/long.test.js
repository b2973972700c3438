'use strict';
// Payloads longer than one SMS, end to end in a real Node-RED runtime against the Infobip
// stand-in, which reassembles what it receives as a handset would and reports every part.
const should = require('should');
const {
  helper,
  binarySms,
  infobipAccount,
  binarySmsReport,
  infobipSmsIn,
  catchNode,
  smsFlow,
  API_KEY,
  CREDENTIALS,
  lastStatusOf,
  reportFlow,
  inboundFlow,
  passesCode,
} = require('../support/runtime');
const { InfobipTestServer, TWICE_REPORTED } = require('../../dev/infobip-server');
const { wait, until } = require('../../dev/wait');

const V3 = { api: 'v3' };
const SPLIT = { longPayload: 'split', dataCoding: 4 };
const bytes = (length, from = 0) => Buffer.from(Array.from({ length }, (_, i) => (from + i * 7) % 256));
const hexOf = (buffer) => [...buffer].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');

describe('long payloads', function () {
  let server;
  let outputs;
  let errors;
  let reports;
  let overdue;

  beforeEach(async function () {
    await helper.startServer();
    server = await new InfobipTestServer({ apiKey: API_KEY, reportDelayMs: 50 }).start();
    outputs = [];
    errors = [];
    reports = [];
    overdue = [];
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    await server.stop();
  });

  /** A binary-sms node `sms` (with `smsSettings`) and, unless `report` is false, a report node `rep`. */
  async function load(smsSettings = SPLIT, { report = {}, account = V3 } = {}) {
    const flow = report ? reportFlow(server.baseUrl, report, account) : smsFlow(server.baseUrl, {}, account);
    Object.assign(
      flow.find((node) => node.id === 'sms'),
      smsSettings,
    );
    await helper.load([infobipAccount, binarySms, binarySmsReport, catchNode], flow, CREDENTIALS);
    helper.getNode('out').on('input', (msg) => outputs.push(msg));
    helper.getNode('caught').on('input', (msg) => errors.push(msg));
    if (report) {
      helper.getNode('reports').on('input', (msg) => reports.push(msg));
      helper.getNode('late').on('input', (msg) => overdue.push(msg));
    }
  }
  const send = (msg) => helper.getNode('sms').receive(msg);

  it('sends a 600-byte Buffer from a new node as 5 concatenated parts, and reports the whole message once', async function () {
    await load(SPLIT, { report: { parts: 'whole' } });
    const payload = bytes(600);
    send({ payload, topic: 'config block' });
    await until(() => reports.length === 1, 5000, 'the whole-message report');
    await wait(300);

    server.accepted().should.have.length(1);
    const [long] = server.longMessages;
    long.should.have.properties({ to: '41793026727', count: 5, referenceBits: 8, inOrder: true, requests: 1 });
    long.data.should.equal(hexOf(payload));
    server.malformedHeaders.should.be.empty();
    server
      .accepted()[0]
      .body.messages.every((message) => message.content.esmClass === 64)
      .should.be.true();

    outputs.should.have.length(1);
    const [output] = outputs;
    output.partIds.should.have.length(5);
    output.messageId.should.equal(output.partIds[0]);
    output.partEntries.map((entry) => entry.messageId).should.eql(output.partIds);
    output.payload.should.equal(output.partEntries[0]);
    errors.should.be.empty();

    reports.should.have.length(1);
    const [whole] = reports;
    whole.delivered.should.be.true();
    whole.final.should.be.true();
    whole.messageId.should.equal(output.messageId);
    whole.partReports.map((report) => report.messageId).should.eql(output.partIds);
    whole.payload.should.eql(whole.partReports[4]);
    whole.sent.should.have.properties({ topic: 'config block', messageId: output.messageId, partIds: output.partIds });
    overdue.should.be.empty();
  });

  it('keeps the parts of each message together and in order when requests carry several messages', async function () {
    await load({ ...SPLIT, to: '41793026727, 41793026834' }, { report: false, account: { ...V3, concurrency: 1 } });
    server.plan({ delayMs: 200 });
    for (let i = 0; i < 4; i++) send({ payload: bytes(300, i) });
    await until(() => outputs.length === 8, 5000, 'eight outputs');
    server.longMessages.should.have.length(8);
    for (const long of server.longMessages) long.should.have.properties({ count: 3, inOrder: true, requests: 1 });
    // The second request carried the three messages that waited behind the first.
    server
      .accepted()
      .map((record) => record.body.messages.length)
      .should.eql([3, 9]);
    new Set(server.longMessages.map((long) => `${long.to} ${long.reference}`)).size.should.equal(8);
    send({ payload: 'ab' });
    await until(() => outputs.length === 10, 5000, 'two more outputs');
    await until(
      () => lastStatusOf('sms').text === 'sent 10 (8 long, 2 SMS)',
      3000,
      'the status counting long messages',
    );
  });

  it('fails only the message of a refused part, as a whole; the other message of the request goes', async function () {
    await load(SPLIT, { report: false, account: { ...V3, concurrency: 1 } });
    server.plan({ delayMs: 200 });
    send({ payload: 'ab', topic: 'holds the line' });
    send({ payload: bytes(200), topic: 'short' });
    send({ payload: bytes(600), topic: 'refused' });
    server.plan({
      status: 400,
      body: {
        errorCode: 'E400',
        description: 'Request contains invalid data',
        violations: [{ property: 'messages[3].content.hex', violation: 'is not acceptable' }],
      },
    });
    await until(() => outputs.length === 2 && errors.length === 1, 5000, 'two outputs and one error');
    await wait(200);
    outputs.map((msg) => msg.topic).should.eql(['holds the line', 'short']);
    errors.should.have.length(1);
    errors[0].topic.should.equal('refused');
    errors[0].error.message.should.match(/HTTP 400.*msg\.payload: is not acceptable/);
    // Nothing of the refused message went again: only the short one was sent after the 400.
    server.longMessages.should.have.length(1);
    server.longMessages[0].count.should.equal(2);
  });

  it('reports a whole message undelivered when one part is, with that part report as msg.payload', async function () {
    await load(SPLIT, { report: { parts: 'whole' } });
    server.partFaults.set(2, 'undeliverable');
    send({ payload: bytes(400) });
    await until(() => reports.length === 1, 5000, 'the whole-message report');
    await wait(200);
    reports.should.have.length(1);
    reports[0].delivered.should.be.false();
    reports[0].payload.status.groupName.should.equal('UNDELIVERABLE');
    reports[0].payload.messageId.should.equal(outputs[0].partIds[1]);
    reports[0].partReports
      .map((report) => report.status.groupName)
      .should.eql(['DELIVERED', 'UNDELIVERABLE', 'DELIVERED']);
  });

  it('emits every part report with msg.smsPart for a node saved without the Long messages setting', async function () {
    await load(SPLIT, { report: {} });
    send({ payload: bytes(300) });
    await until(() => reports.length === 3, 5000, 'three part reports');
    await wait(200);
    reports.should.have.length(3);
    reports
      .map((report) => report.smsPart)
      .sort((a, b) => a.index - b.index)
      .should.eql([
        { index: 1, count: 3 },
        { index: 2, count: 3 },
        { index: 3, count: 3 },
      ]);
    for (const report of reports) report.sent.messageId.should.equal(outputs[0].messageId);
  });

  it('emits the whole message again only when its status group changes', async function () {
    await load({ ...SPLIT, to: TWICE_REPORTED }, { report: { parts: 'whole' } });
    send({ payload: bytes(200) });
    await until(() => reports.length === 1, 5000, 'the first whole-message report');
    reports[0].payload.status.name.should.equal('DELIVERED_TO_OPERATOR');
    // The stand-in reports every part again as DELIVERED_TO_HANDSET: the whole stays DELIVERED.
    const pulled = () => server.reportPolls.reduce((sum, poll) => sum + poll.answered, 0);
    await until(() => pulled() === 4, 5000, 'both rounds of the two parts pulled');
    await wait(300);
    reports.should.have.length(1);
  });

  it('reports a split message overdue once, naming the parts without a final report', async function () {
    await load(SPLIT, { report: { parts: 'whole', overdue: 0.02 } });
    server.partFaults.set(3, 'silent');
    server.partFaults.set(4, 'silent');
    send({ payload: bytes(600), topic: 'late parts' });
    await until(() => overdue.length === 1, 5000, 'the overdue message');
    await wait(1500);
    overdue.should.have.length(1);
    overdue[0].should.have.properties({ payload: null, messageId: outputs[0].messageId, to: '41793026727' });
    overdue[0].missingParts.should.eql([3, 4]);
    overdue[0].sent.topic.should.equal('late parts');
    reports.should.be.empty();
  });

  it('sends a long payload as it is from a node saved without the setting', async function () {
    await load({ dataCoding: 4 }, { report: false });
    const payload = bytes(600);
    send({ payload });
    await until(() => outputs.length === 1, 5000, 'the output');
    const [message] = server.accepted()[0].body.messages;
    message.content.should.eql({ hex: hexOf(payload), dataCoding: 4, esmClass: 0 });
    should(outputs[0].partIds).be.undefined();
    lastStatusOf('sms').text.should.match(/last payload 600 bytes/);
  });

  it('fails a long payload on a v1 account before anything is sent', async function () {
    await load(SPLIT, { report: false, account: {} });
    send({ payload: bytes(141), topic: 'v1' });
    await until(() => errors.length === 1, 5000, 'the error');
    errors[0].error.message.should.match(/141 bytes.*v3 API/);
    if (passesCode) errors[0].error.code.should.equal('input');
    server.requests.should.be.empty();
    outputs.should.be.empty();
  });

  it('refuses a header over 255 bytes "As is" before sending, naming its length and the limit', async function () {
    await load({ dataCoding: 4, longPayload: 'asIs', destinationPort: '2948' }, { report: false });
    send({ payload: bytes(2), udh: Buffer.concat([Buffer.of(254, 0x70, 252), Buffer.alloc(252)]) });
    await until(() => errors.length === 1, 5000, 'the error');
    errors[0].error.message.should.match(/\b260 bytes\b.*\b255\b/);
    if (passesCode) errors[0].error.code.should.equal('input');
    server.requests.should.be.empty();
    outputs.should.be.empty();
  });

  it('refuses an oversized msg.udh with "Refuse", naming header and data bytes and never a negative room', async function () {
    await load({ dataCoding: 4, longPayload: 'refuse' }, { report: false });
    send({ payload: bytes(1), udh: Buffer.concat([Buffer.of(200, 0x70, 198), Buffer.alloc(198)]) });
    await until(() => errors.length === 1, 5000, 'the error');
    const { message } = errors[0].error;
    message.should.match(/\b201 \+ 1 bytes\b/);
    message.should.match(/\b140 bytes in all\b/);
    message.should.not.match(/-\s*\d/);
    if (passesCode) errors[0].error.code.should.equal('input');
    server.requests.should.be.empty();
  });

  it('adds ports to a payload that fits one SMS', async function () {
    await load({ ...SPLIT, destinationPort: '2948', sourcePort: '9200' }, { report: false });
    send({ payload: 'ca fe' });
    await until(() => outputs.length === 1, 5000, 'the output');
    server.accepted()[0].body.messages[0].content.should.eql({
      hex: '06 05 04 0b 84 23 f0 ca fe',
      dataCoding: 4,
      esmClass: 64,
    });
  });

  it('ties a reply to a split message once per number', async function () {
    const flow = inboundFlow(server.baseUrl, {}, V3, { ...SPLIT, to: '41793026788' });
    await helper.load([infobipAccount, binarySms, infobipSmsIn, catchNode], flow, CREDENTIALS);
    const replies = [];
    helper.getNode('replies').on('input', (msg) => replies.push(msg));
    helper.getNode('out').on('input', (msg) => outputs.push(msg));
    send({ payload: bytes(300, 0x42), topic: 'long command' });
    await until(() => replies.length === 1, 8000, 'the reply');
    await wait(1500);
    replies.should.have.length(1);
    replies[0].sent.messageId.should.equal(outputs[0].messageId);
    replies[0].sent.topic.should.equal('long command');
  });
});
