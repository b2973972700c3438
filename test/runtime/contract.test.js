'use strict';
// What each node's help says it emits, compared with what it really emits: every property the help
// documents as always there is on every output, and every property a node writes is documented.
const fs = require('node:fs');
const path = require('node:path');
const should = require('should');
const {
  helper,
  binarySms,
  infobipAccount,
  binarySmsReport,
  infobipSmsIn,
  catchNode,
  smsFlow,
  reportFlow,
  inboundFlow,
  CREDENTIALS,
  APIS,
  API_KEY,
} = require('../support/runtime');
const { InfobipTestServer } = require('../../dev/infobip-server');
const { until } = require('../../dev/wait');

const locales = path.resolve(__dirname, '..', '..', 'locales', 'en-US');

/**
 * The output properties a node's help documents (its first output's list), each with whether it is
 * optional: the `<dt>` entries of the Outputs section, up to the next list or heading.
 */
function documentedOutputs(node) {
  const help = fs.readFileSync(path.join(locales, `${node}.html`), 'utf8');
  const outputs = help.slice(help.indexOf('<h3>Outputs</h3>'));
  const firstList = outputs.slice(0, outputs.indexOf('</dl>'));
  const documented = new Map();
  for (const [, optional, name] of firstList.matchAll(/<dt( class="optional")?>(\w+)/g)) {
    documented.set(name, Boolean(optional));
  }
  return documented;
}

/** Checks an output against its node's help: `input` is what the flow gave the node (its properties are the flow's). */
function matchesHelp(node, output, input = {}) {
  const documented = documentedOutputs(node);
  documented.size.should.be.above(3, `${node}'s help lists its outputs`);
  for (const [name, optional] of documented) {
    if (!optional) output.should.have.property(name);
  }
  const written = Object.keys(output).filter(
    (key) => key !== '_msgid' && (!(key in input) || ['payload', 'to'].includes(key)),
  );
  for (const key of written)
    should(documented.has(key)).be.true(`${node} writes msg.${key}, which its help does not document`);
}

describe('what the help says the nodes emit is what they emit', function () {
  let server;
  beforeEach(async function () {
    await helper.startServer();
    server = await new InfobipTestServer({ apiKey: API_KEY, reportDelayMs: 50 }).start();
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    await server.stop();
  });

  for (const api of APIS) {
    it(`binary-sms (${api}): its outputs`, async function () {
      await helper.load([infobipAccount, binarySms, catchNode], smsFlow(server.baseUrl, {}, { api }), CREDENTIALS);
      const outputs = [];
      helper.getNode('out').on('input', (msg) => outputs.push(msg));
      const input = { payload: 'ab', to: ['41793026727', '41793026834'], topic: 'contract', device: { id: 7 } };
      helper.getNode('sms').receive({ ...input });
      await until(() => outputs.length === 2, 3000, 'the outputs');
      for (const output of outputs) matchesHelp('binary-sms', output, input);
      // What the help says msg.payload holds, on each API.
      const entry = outputs[0].payload;
      if (api === 'v3') entry.should.have.properties(['destination', 'status', 'details', 'messageId']);
      else entry.should.have.properties(['to', 'status', 'smsCount', 'messageId']);
      entry.status.should.have.properties(['groupName', 'name', 'description']);
    });

    it(`binary-sms-report (${api}): its reports`, async function () {
      const flow = reportFlow(server.baseUrl, {}, { api });
      await helper.load([infobipAccount, binarySms, binarySmsReport, catchNode], flow, CREDENTIALS);
      const reports = [];
      helper.getNode('reports').on('input', (msg) => reports.push(msg));
      helper.getNode('sms').receive({ payload: 'ab', to: ['41793026727', '41793026834'] });
      await until(() => reports.length === 2, 8000, 'the reports');
      for (const report of reports) matchesHelp('binary-sms-report', report);
    });
  }

  it('binary-sms: the outputs of a split payload', async function () {
    const flow = smsFlow(server.baseUrl, { longPayload: 'split' }, { api: 'v3' });
    await helper.load([infobipAccount, binarySms, catchNode], flow, CREDENTIALS);
    const outputs = [];
    helper.getNode('out').on('input', (msg) => outputs.push(msg));
    const input = { payload: Buffer.alloc(300, 7), destinationPort: 2948, messageClass: 1, topic: 'contract' };
    helper.getNode('sms').receive({ ...input });
    await until(() => outputs.length === 1, 3000, 'the output');
    matchesHelp('binary-sms', outputs[0], input);
    outputs[0].should.have.properties(['partIds', 'partEntries']);
  });

  for (const parts of ['whole', 'each']) {
    it(`binary-sms-report (Long messages: ${parts}): the reports of a split message`, async function () {
      const flow = reportFlow(server.baseUrl, { parts }, { api: 'v3' });
      flow.find((node) => node.id === 'sms').longPayload = 'split';
      await helper.load([infobipAccount, binarySms, binarySmsReport, catchNode], flow, CREDENTIALS);
      const reports = [];
      helper.getNode('reports').on('input', (msg) => reports.push(msg));
      helper.getNode('sms').receive({ payload: Buffer.alloc(300, 7) });
      const expected = parts === 'whole' ? 1 : 3;
      await until(() => reports.length === expected, 8000, 'the reports');
      for (const report of reports) {
        matchesHelp('binary-sms-report', report);
        report.should.have.property(parts === 'whole' ? 'partReports' : 'smsPart');
      }
    });
  }

  it('infobip-sms-in: its replies', async function () {
    const flow = inboundFlow(server.baseUrl);
    await helper.load([infobipAccount, binarySms, infobipSmsIn, catchNode], flow, CREDENTIALS);
    const replies = [];
    helper.getNode('replies').on('input', (msg) => replies.push(msg));
    helper.getNode('sms').receive({ payload: 'ab', to: '41793026727' });
    await until(() => server.requests.length === 1, 3000, 'the send');
    server.receive('41793026727', 'ACK AB');
    await until(() => replies.length === 1, 5000, 'the reply');
    matchesHelp('infobip-sms-in', replies[0]);
  });
});
