'use strict';
// Two account nodes with the same base URL and API key in one Node-RED (an imported flow that
// carries its own account node, filled in with the same key) speak for one Infobip account:
// one poller per kind, every report and reply emitted once with msg.sent by a node of the account
// node that sent it, and one request budget with the strictest limits — without Redis.
require('should');
const {
  helper,
  binarySms,
  infobipAccount,
  binarySmsReport,
  infobipSmsIn,
  catchNode,
  API_KEY,
  withRuntime,
} = require('../support/runtime');
const { until, wait } = require('../../dev/wait');

/** Account node `same<n>` with a binary-sms node `sms<n>` and, unless left out, a report and an inbound node. */
function half(n, baseUrl, { account = {}, report = true, inbound = true, to } = {}) {
  const nodes = [
    {
      id: `same${n}`,
      type: 'infobip-account',
      name: `copy ${n}`,
      api: 'v3',
      baseUrl,
      authType: 'apiKey',
      ...account,
    },
    {
      id: `sms${n}`,
      type: 'binary-sms',
      z: 'tab1',
      account: `same${n}`,
      to,
      dataCoding: 0,
      esmClass: 0,
      wires: [[`out${n}`]],
    },
    { id: `out${n}`, type: 'helper', z: 'tab1' },
  ];
  if (report)
    nodes.push(
      {
        id: `rep${n}`,
        type: 'binary-sms-report',
        z: 'tab1',
        account: `same${n}`,
        mode: 'poll',
        interval: 1,
        overdue: 0,
        parts: 'whole',
        wires: [[`reports${n}`], []],
      },
      { id: `reports${n}`, type: 'helper', z: 'tab1' },
    );
  if (inbound)
    nodes.push(
      {
        id: `in${n}`,
        type: 'infobip-sms-in',
        z: 'tab1',
        account: `same${n}`,
        mode: 'poll',
        interval: 1,
        replyWindow: 60,
        wires: [[`replies${n}`]],
      },
      { id: `replies${n}`, type: 'helper', z: 'tab1' },
    );
  return nodes;
}

describe('two account nodes with the same credentials in one Node-RED', function () {
  this.timeout(30000);
  const env = withRuntime();
  let server;
  // Ids of their own: the account's memory outlives the test in this process (as across a full deploy).
  const credentials = { same1: { apiKey: API_KEY }, same2: { apiKey: API_KEY } };
  const nodes = [infobipAccount, binarySms, binarySmsReport, infobipSmsIn, catchNode];
  const heard = (id) => {
    const list = [];
    helper.getNode(id).on('input', (msg) => list.push(msg));
    return list;
  };

  beforeEach(function () {
    server = env.server;
    server.reportDelayMs = 200;
  });

  it('every report and reply is emitted once, with msg.sent, by a node of the account node that sent it; one poller per kind', async function () {
    const flow = [
      { id: 'tab1', type: 'tab' },
      ...half(1, server.baseUrl, { to: '41793000001' }),
      ...half(2, server.baseUrl, { to: '41793000002' }),
    ];
    await helper.load(nodes, flow, credentials);
    const [reports1, reports2, replies1, replies2] = ['reports1', 'reports2', 'replies1', 'replies2'].map(heard);
    for (let seq = 0; seq < 20; seq++) {
      helper.getNode('sms1').receive({ payload: 'ab 01', topic: `one ${seq}` });
      helper.getNode('sms2').receive({ payload: 'ab 02', topic: `two ${seq}` });
    }
    await until(() => reports1.length + reports2.length >= 40, 15000, '40 reports');
    for (const to of ['41793000001', '41793000002']) server.receive(to, `ACK ${to}`);
    await until(() => replies1.length + replies2.length >= 2, 10000, 'two replies');
    await wait(1500);
    reports1.should.have.length(20);
    reports2.should.have.length(20);
    reports1.forEach((msg) => msg.sent.topic.should.startWith('one '));
    reports2.forEach((msg) => msg.sent.topic.should.startWith('two '));
    new Set([...reports1, ...reports2].map((msg) => msg.messageId)).size.should.equal(40);
    replies1.map((msg) => msg.sent?.topic).should.eql(['one 19']);
    replies2.map((msg) => msg.sent?.topic).should.eql(['two 19']);
    // One poller per kind: both report nodes polling would have made two polls a second.
    const seconds = (server.reportPolls.at(-1).at - server.reportPolls[0].at) / 1000;
    server.reportPolls.length.should.be.belowOrEqual(Math.ceil(seconds) + 2);
    server.inboxPolls.length.should.be.belowOrEqual(Math.ceil(seconds) + 2);
  });

  it('an account node without a report node of its own: its reports come out of the other one, with msg.sent', async function () {
    const flow = [
      { id: 'tab1', type: 'tab' },
      ...half(1, server.baseUrl, { to: '41793000001', report: false, inbound: false }),
      ...half(2, server.baseUrl, { to: '41793000002', inbound: false }),
    ];
    await helper.load(nodes, flow, credentials);
    const reports2 = heard('reports2');
    for (let seq = 0; seq < 5; seq++) helper.getNode('sms1').receive({ payload: 'ab 01', topic: `one ${seq}` });
    await until(() => reports2.length >= 5, 10000, 'five reports');
    await wait(500);
    reports2.should.have.length(5);
    reports2
      .map((msg) => msg.sent.topic)
      .sort()
      .should.eql(['one 0', 'one 1', 'one 2', 'one 3', 'one 4']);
  });

  it('one request budget: the strictest Parallel of the two holds for both', async function () {
    const flow = [
      { id: 'tab1', type: 'tab' },
      ...half(1, server.baseUrl, { to: '41793000001', account: { concurrency: 2, batchSize: 1 } }),
      ...half(2, server.baseUrl, { to: '41793000002', account: { concurrency: 6, batchSize: 1 } }),
    ];
    await helper.load(nodes, flow, credentials);
    const [out1, out2] = ['out1', 'out2'].map(heard);
    server.delayMs = 50;
    for (let seq = 0; seq < 15; seq++) {
      helper.getNode('sms1').receive({ payload: 'ab 01' });
      helper.getNode('sms2').receive({ payload: 'ab 02' });
    }
    await until(() => out1.length + out2.length >= 30, 15000, 'thirty outputs');
    server.peakInFlight.should.be.belowOrEqual(2);
  });
});
