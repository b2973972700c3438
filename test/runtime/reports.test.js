'use strict';
// The binary-sms-report node against the local Infobip stand-in: reports pulled and pushed,
// tied back to what was sent, never lost, never invented.
const http = require('node:http');
const should = require('should');
const {
  arrivalsAt,
  helper,
  binarySms,
  infobipAccount,
  binarySmsReport,
  httpNodeApp,
  catchNode,
  smsFlow,
  API_KEY,
  CREDENTIALS,
  statusesOf,
  lastStatusOf,
  statusNode,
  reportFlow: flowWithReports,
} = require('../support/runtime');
const { InfobipTestServer, REPORT_TEST_PREFIX } = require('../../dev/infobip-server');

const { wait, until } = require('../../dev/wait');

describe('binary-sms-report', function () {
  let server;
  let reports;
  let overdue;
  let sent;

  beforeEach(async function () {
    await helper.startServer();
    server = await new InfobipTestServer({ apiKey: API_KEY, reportDelayMs: 50 }).start();
    reports = [];
    overdue = [];
    sent = [];
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    await server.stop();
  });

  const reportFlow = (reportOverrides = {}, accountOverrides = {}) =>
    flowWithReports(server.baseUrl, reportOverrides, accountOverrides);

  async function load(reportOverrides = {}, accountOverrides = {}, credentials = CREDENTIALS) {
    const flow = reportFlow(reportOverrides, accountOverrides);
    await helper.load([infobipAccount, binarySms, binarySmsReport, catchNode], flow, credentials);
    helper.getNode('reports').on('input', (msg) => reports.push(msg));
    helper.getNode('late').on('input', (msg) => overdue.push(msg));
    helper.getNode('out').on('input', (msg) => sent.push(msg));
  }

  const send = (msg) => helper.getNode('sms').receive(msg);
  const statusTexts = () => statusesOf('rep').map((status) => status.text);

  describe('polling', function () {
    it('emits each report with delivered and what the flow sent, and DELIVERED_TO_OPERATOR counts as delivered', async function () {
      await load();
      const operator = `${REPORT_TEST_PREFIX}003`;
      const undeliverable = `${REPORT_TEST_PREFIX}002`;
      send({ payload: 'ab', to: ['41793026727', operator, undeliverable], topic: 'meter-7', device: { id: 7 } });
      await until(() => reports.length === 3, 5000, '3 reports');
      const byTo = Object.fromEntries(reports.map((msg) => [msg.to, msg]));
      byTo['41793026727'].delivered.should.be.true();
      byTo['41793026727'].payload.status.name.should.equal('DELIVERED_TO_HANDSET');
      byTo[operator].delivered.should.be.true();
      byTo[operator].payload.status.name.should.equal('DELIVERED_TO_OPERATOR');
      byTo[undeliverable].delivered.should.be.false();
      for (const msg of reports) {
        const output = sent.find((candidate) => candidate.to === msg.to);
        msg.messageId.should.equal(output.messageId);
        msg.bulkId.should.equal(output.bulkId);
        msg.payload.messageId.should.equal(msg.messageId);
        msg.sent.should.have.properties({ topic: 'meter-7', device: { id: 7 }, to: msg.to, messageId: msg.messageId });
        should(msg.sent.payload).be.undefined();
        should(msg.sent.parts).be.undefined();
      }
      await until(() => statusTexts().includes('every 1 s, 3 reports'), 2000, 'the status');
    });
    it('a report for a message sent elsewhere has no msg.sent', async function () {
      await load();
      server.reports.push({ messageId: 'sent-elsewhere', to: '41793026727', status: { groupName: 'DELIVERED' } });
      await until(() => reports.length === 1, 5000, 'the report');
      reports[0].delivered.should.be.true();
      should(reports[0].sent).be.undefined();
      reports[0].payload.should.eql({
        messageId: 'sent-elsewhere',
        to: '41793026727',
        status: { groupName: 'DELIVERED' },
      });
    });
    it('fetches full pages of 1000 one after another, emitting every report once', async function () {
      for (let i = 0; i < 2500; i++) {
        server.reports.push({ messageId: `m${i}`, to: '41793026727', status: { groupName: 'DELIVERED' } });
      }
      await load({ interval: 60 });
      await until(() => reports.length === 2500, 10000, '2500 reports');
      await wait(200);
      reports.should.have.length(2500);
      new Set(reports.map((msg) => msg.messageId)).size.should.equal(2500);
      server.reportPolls
        .slice(0, 3)
        .map((poll) => poll.answered)
        .should.eql([1000, 1000, 500]);
      server.reportPolls.forEach((poll) => poll.url.should.match(/limit=1000/));
      // At once, not after the interval (60 s).
      (server.reportPolls[2].at - server.reportPolls[0].at).should.be.below(30_000);
    });
    it('an empty page waits for the interval', async function () {
      await load({ interval: 1 });
      await wait(1500);
      server.reportPolls.length.should.be.within(1, 2);
      reports.should.be.empty();
    });
    it('401: red status, one error log line without secrets, polling goes on', async function () {
      await load({}, {}, { acc1: { apiKey: 'wrong-key-123456' } });
      await until(() => server.reportPolls.length >= 2, 5000, 'two polls');
      lastStatusOf('rep').should.have.properties({ fill: 'red', text: 'unauthorized' });
      const errors = helper.getNode('rep').error.args.map((args) => String(args[0]));
      errors.should.have.length(1);
      errors[0].should.match(/refused the account's credentials .* \(HTTP 401\)/);
      errors[0].should.not.containEql('wrong-key-123456');
    });
    it('503 and 429 back off and try again; the reports come through once', async function () {
      server.reports.push({ messageId: 'r1', to: '41793026727', status: { groupName: 'DELIVERED' } });
      server.plannedReports.push(
        { status: 503, body: 'busy' },
        { status: 429, body: '', headers: { 'retry-after': '1' } },
      );
      await load();
      await until(() => reports.length === 1, 8000, 'the report');
      server.reportPolls.length.should.be.aboveOrEqual(3);
      statusTexts()
        .some((text) => /^retrying in \d+ s$/.test(text))
        .should.be.true();
      (server.reportPolls[2].at - server.reportPolls[1].at).should.be.aboveOrEqual(950);
      await wait(300);
      reports.should.have.length(1);
    });
    it('network down, then up: nothing lost or doubled', async function () {
      const probe = await new InfobipTestServer().start();
      const port = probe.port;
      await probe.stop();
      await load({}, { baseUrl: `http://127.0.0.1:${port}` });
      await until(() => statusTexts().some((text) => /^retrying in/.test(text)), 3000, 'the backoff status');
      helper.getNode('rep').warn.callCount.should.equal(1);
      const later = await new InfobipTestServer({ apiKey: API_KEY }).start(port);
      try {
        later.reports.push({ messageId: 'after-outage', to: '41793026727', status: { groupName: 'DELIVERED' } });
        await until(() => reports.length === 1, 8000, 'the report after the outage');
        await wait(1500);
        reports.map((msg) => msg.messageId).should.eql(['after-outage']);
      } finally {
        await later.stop();
      }
    });
    it('reports fetched while the node closes are still emitted', async function () {
      await load({ interval: 1 });
      await until(() => server.reportPolls.length === 1, 3000, 'the first poll');
      server.reports.push({ messageId: 'late-1', to: '41793026727', status: { groupName: 'DELIVERED' } });
      server.plannedReports.push({ delayMs: 1500 });
      await until(() => server.reportPolls.length === 2, 3000, 'the second poll');
      // Its answer comes in 1.5 s: redeploy the report node now, so it closes with the poll under way.
      // The new node's first poll finds nothing, so only the closing node can deliver the report.
      server.plannedReports.push({ status: 200, body: { results: [] } });
      const flow = reportFlow({ interval: 60, name: 'redeployed' });
      await helper.setFlows(flow, 'nodes', CREDENTIALS);
      await until(() => reports.length === 1, 5000, 'the report fetched while closing');
      reports[0].messageId.should.equal('late-1');
      await wait(1500);
      reports.should.have.length(1);
    });
    it('v3: a message sent while the report node restarts is still tracked (no gap in tracking)', async function () {
      await load({ interval: 1 }, { api: 'v3' });
      await until(() => server.reportPolls.length === 1, 3000, 'the first poll');
      server.plannedReports.push({ delayMs: 1500 });
      await until(() => server.reportPolls.length === 2, 3000, 'the second poll');
      // The report node closes with its poll under way (it waits for it); a message goes out meanwhile.
      const redeployed = helper.setFlows(
        reportFlow({ interval: 1, name: 'redeployed' }, { api: 'v3' }),
        'nodes',
        CREDENTIALS,
      );
      await wait(300);
      send({ payload: 'ab', topic: 'sent while the report node restarts' });
      await redeployed;
      await until(() => reports.length === 1, 8000, 'the report');
      reports[0].sent.topic.should.equal('sent while the report node restarts');
    });
    it('a full deploy with a poll under way: the report fetched while closing is emitted by the next node, with msg.sent', async function () {
      const arrived = arrivalsAt('reports');
      try {
        await load({ interval: 1 }, { api: 'v3' });
        await until(() => server.reportPolls.length === 1, 3000, 'the first poll');
        server.holdReports = true;
        send({ payload: 'ab', topic: 'across a full deploy' });
        await until(() => sent.length === 1, 3000, 'the send');
        server.plannedReports.push({ delayMs: 1500 });
        await until(() => server.reportPolls.length >= 2, 3000, 'a poll under way');
        server.releaseReports();
        server.plannedReports.push({ status: 200, body: { results: [] } });
        await helper.setFlows(reportFlow({ interval: 60, name: 'full' }, { api: 'v3' }), 'full', CREDENTIALS);
        await until(() => arrived.length === 1, 5000, 'the report fetched while closing');
        arrived[0].messageId.should.equal(sent[0].messageId);
        arrived[0].sent.topic.should.equal('across a full deploy');
        await wait(1000);
        arrived.should.have.length(1);
      } finally {
        arrived.stop();
      }
    });
    it('a full deploy without context stores in settings.js: a later report still carries msg.sent', async function () {
      const arrived = arrivalsAt('reports');
      try {
        await load({ interval: 1 }, { api: 'v3' });
        server.holdReports = true;
        send({ payload: 'ab', topic: 'before the deploy' });
        await until(() => sent.length === 1, 3000, 'the send');
        await helper.setFlows(
          reportFlow({ interval: 1, name: 'after' }, { api: 'v3', name: 'after' }),
          'full',
          CREDENTIALS,
        );
        server.releaseReports();
        await until(() => arrived.length === 1, 5000, 'the report');
        arrived[0].messageId.should.equal(sent[0].messageId);
        arrived[0].sent.topic.should.equal('before the deploy');
      } finally {
        arrived.stop();
      }
    });
    it('redeploying the account mid-poll: every report of the page Infobip handed out is emitted', async function () {
      await load({ interval: 1 });
      await until(() => server.reportPolls.length === 1, 3000, 'the first poll');
      server.reports.push({ messageId: 'held-1', to: '41793026727', status: { groupName: 'DELIVERED' } });
      server.plannedReports.push({ delayMs: 1500 });
      await until(() => server.reportPolls.length === 2, 3000, 'the second poll');
      // The account changes while the answer is on its way: Node-RED closes account and report node at once.
      server.plannedReports.push({ status: 200, body: { results: [] } });
      const flow = reportFlow({ interval: 60 }, { retries: 2 });
      await helper.setFlows(flow, 'nodes', CREDENTIALS);
      await until(() => reports.length === 1, 5000, 'the report of the page under way');
      reports[0].messageId.should.equal('held-1');
    });
    it('a send does not wait behind a poll: polls have a connection of their own', async function () {
      server.plannedReports.push({ hang: true });
      await load({ interval: 1 }, { concurrency: 1, timeout: 2 });
      await until(() => server.reportPolls.length === 1, 3000, 'the hanging poll');
      const result = new Promise((resolve) => {
        // Answered while the poll still holds its own connection: two connections open at once.
        helper.getNode('out').on('input', () => resolve(server.sockets.size >= 2 ? 'sent' : 'sent after the poll'));
        helper.getNode('caught').on('input', (msg) => resolve(msg.error.message));
      });
      send({ payload: 'ab' });
      (await result).should.equal('sent');
    });
    it('a Status node sees the start-up problem of a report node', async function () {
      const flow = reportFlow({ interval: 'soon' });
      flow.push({ id: 'watch', type: 'status', z: 'tab1', scope: ['rep'], wires: [['seen']] });
      flow.push({ id: 'seen', type: 'helper', z: 'tab1' });
      const seen = [];
      const loading = helper.load(
        [infobipAccount, binarySms, binarySmsReport, catchNode, statusNode],
        flow,
        CREDENTIALS,
      );
      await loading;
      helper.getNode('seen').on('input', (msg) => seen.push(msg.status));
      await until(() => seen.length > 0, 2000, 'a status at the Status node');
      seen[0].should.have.properties({ fill: 'red' });
      seen[0].text.should.match(/Interval/);
    });
    it('an account without its key: a Status node sees "account not set up", in words', async function () {
      const flow = reportFlow();
      flow.push({ id: 'watch', type: 'status', z: 'tab1', scope: ['rep'], wires: [['seen']] });
      flow.push({ id: 'seen', type: 'helper', z: 'tab1' });
      const seen = [];
      await helper.load([infobipAccount, binarySms, binarySmsReport, catchNode, statusNode], flow, {});
      helper.getNode('seen').on('input', (msg) => seen.push(msg.status));
      await until(() => seen.length > 0, 2000, 'a status at the Status node');
      seen[0].should.have.properties({ fill: 'red', text: 'account not set up' });
    });
    it('close mid-poll: the poll under way ends, and no poll comes after close', async function () {
      server.plannedReports.push({ hang: true });
      await load();
      await until(() => server.reportPolls.length === 1, 3000, 'the first poll');
      await helper.unload();
      const polls = server.reportPolls.length;
      await wait(1500);
      server.reportPolls.length.should.equal(polls);
    });
  });

  describe('tracking', function () {
    it('keeps at most trackLimit messages: the oldest lose their msg.sent', async function () {
      server.reportDelayMs = 1500;
      await load({}, { trackLimit: 2 });
      for (const to of ['41793026701', '41793026702', '41793026703']) {
        send({ payload: 'ab', to, tag: to });
        await wait(30);
      }
      await until(() => reports.length === 3, 8000, '3 reports');
      const byTo = Object.fromEntries(reports.map((msg) => [msg.to, msg]));
      should(byTo['41793026701'].sent).be.undefined();
      byTo['41793026702'].sent.tag.should.equal('41793026702');
      byTo['41793026703'].sent.tag.should.equal('41793026703');
    });
    it('overdue: a message without a report goes to output 2; its later report still to output 1', async function () {
      server.reportDelayMs = 2500;
      await load({ overdue: 0.02 });
      send({ payload: 'ab', topic: 'late one' });
      await until(() => overdue.length === 1, 5000, 'the overdue message');
      should(overdue[0].payload).be.null();
      overdue[0].sent.topic.should.equal('late one');
      overdue[0].messageId.should.equal(sent[0].messageId);
      reports.should.be.empty();
      await until(() => reports.length === 1, 5000, 'the late report');
      reports[0].sent.topic.should.equal('late one');
      await wait(1500);
      overdue.should.have.length(1);
    });
    it('no tracking without a report node: sending stores nothing', async function () {
      await helper.load([infobipAccount, binarySms, catchNode], smsFlow(server.baseUrl), CREDENTIALS);
      helper.getNode('out').on('input', (msg) => sent.push(msg));
      send({ payload: 'ab' });
      await until(() => sent.length === 1, 3000, 'the output');
      should(helper.getNode('acc1').account.byId).be.undefined();
      (
        await new Promise((resolve) =>
          helper
            .getNode('acc1')
            .context()
            .keys((error, keys) => resolve(keys)),
        )
      ).should.eql([]);
    });
  });

  describe('webhook', function () {
    // The helper does not serve RED.httpNode: serve it here, as Node-RED serves it under httpNodeRoot.
    let front;
    beforeEach(async function () {
      front = http.createServer((req, res) => httpNodeApp()(req, res));
      await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
    });
    afterEach(() => new Promise((resolve) => front.close(resolve)));
    const url = () => `http://127.0.0.1:${front.address().port}/infobip/reports`;
    const post = (body, query = '?token=s3cret-token-0123456789') =>
      fetch(url() + query, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const results = (count, prefix = 'w') => ({
      results: Array.from({ length: count }, (_, i) => ({
        messageId: `${prefix}${i}`,
        to: '41793026727',
        status: { groupName: 'DELIVERED', name: 'DELIVERED_TO_HANDSET' },
      })),
    });
    const loadWebhook = () =>
      load({ mode: 'webhook' }, {}, { acc1: { apiKey: API_KEY }, rep: { token: 's3cret-token-0123456789' } });

    it('needs the token: missing or wrong gets 401 and emits nothing', async function () {
      await loadWebhook();
      (await post(results(1), '')).status.should.equal(401);
      (await post(results(1), '?token=wrong')).status.should.equal(401);
      await wait(100);
      reports.should.be.empty();
      (await post(results(1))).status.should.equal(200);
      reports.should.have.length(1);
      await until(() => statusTexts().includes('listening on /infobip/reports, 1 reports'), 2000, 'the status');
    });
    it('answers 200 only after emitting a bucket of 100', async function () {
      await loadWebhook();
      const response = await post(results(100));
      reports.should.have.length(100);
      response.status.should.equal(200);
    });
    it('a body that is not { results: [...] } gets 400 with a reason and emits nothing', async function () {
      await loadWebhook();
      for (const body of ['not json', { results: 'x' }, { results: [{ to: '1' }] }, { other: [] }]) {
        const response = await post(body);
        response.status.should.equal(400);
        (await response.json()).error.should.be.a.String();
      }
      reports.should.be.empty();
    });
    it('a body over 1 MB gets 413', async function () {
      await loadWebhook();
      const response = await post({ results: [], padding: 'x'.repeat(1024 * 1024) });
      response.status.should.equal(413);
      reports.should.be.empty();
    });
    it('a body that is not application/json gets 415 (a page could POST text/plain without preflight)', async function () {
      await loadWebhook();
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', '']) {
        const response = await fetch(url() + '?token=s3cret-token-0123456789', {
          method: 'POST',
          headers: type ? { 'content-type': type } : {},
          body: JSON.stringify(results(1)),
        });
        response.status.should.equal(415);
      }
      reports.should.be.empty();
    });
    it('without a token: accepted, but a yellow status and one warning say it is open', async function () {
      await load({ mode: 'webhook' }, {}, { acc1: { apiKey: API_KEY } });
      (await post(results(1), '')).status.should.equal(200);
      const warnings = helper.getNode('rep').warn.args.map((args) => String(args[0]));
      warnings.should.have.length(1);
      warnings[0].should.match(/has no token: anyone who can reach Node-RED can push reports/);
      statusesOf('rep')[0].should.have.properties({ fill: 'yellow', text: 'no token: open to anyone' });
    });
    it('over 1 MB: 413 every time, and the same keep-alive connection serves the next push', async function () {
      await loadWebhook();
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const postWith = (body) =>
        new Promise((resolve, reject) => {
          const request = http.request(
            url() + '?token=s3cret-token-0123456789',
            { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
            (response) => {
              response.resume();
              response.on('end', () => resolve({ status: response.statusCode, reused: request.reusedSocket }));
            },
          );
          request.on('error', reject);
          request.end(body);
        });
      const big = JSON.stringify({ results: [], padding: 'x'.repeat(3 * 1024 * 1024) });
      for (let round = 0; round < 3; round++) {
        (await postWith(big)).status.should.equal(413);
        const next = await postWith(JSON.stringify(results(1, `k${round}-`)));
        next.should.eql({ status: 200, reused: true });
      }
      agent.destroy();
      reports.should.have.length(3);
    });
    it('a path with Express syntax is refused at deploy: red status, no route, nothing left running', async function () {
      await load(
        { mode: 'webhook', path: '/reports(', overdue: 1 },
        {},
        { acc1: { apiKey: API_KEY }, rep: { token: 's3cret-token-0123456789' } },
      );
      const errors = helper.getNode('rep').error.args.map((args) => String(args[0]));
      errors[0].should.match(/webhook path "\/reports\(" is not a URL path/);
      const routes = () => {
        const app = httpNodeApp();
        try {
          return (app._router ?? app.router)?.stack ?? [];
        } catch {
          return []; // express 4 before its first route: no router yet
        }
      };
      routes()
        .filter((layer) => String(layer.route?.path).startsWith('/reports'))
        .should.be.empty();
      should(helper.getNode('acc1').account.byId).be.undefined();
    });
    it('a report pushed again is emitted once, also beyond twice the Track limit', async function () {
      await load(
        { mode: 'webhook' },
        { trackLimit: 100 },
        { acc1: { apiKey: API_KEY }, rep: { token: 's3cret-token-0123456789' } },
      );
      for (let round = 0; round < 2; round++) {
        for (let bucket = 0; bucket < 10; bucket++) {
          const body = results(100, `b${bucket}-`);
          (await post(body)).status.should.equal(200);
        }
      }
      reports.should.have.length(1000);
    });
    it('the same report pushed twice is emitted once', async function () {
      await loadWebhook();
      await post(results(3));
      await post(results(3));
      reports.should.have.length(3);
    });
    it('pushed reports from the stand-in carry what the flow sent', async function () {
      await loadWebhook();
      server.pushUrls = [`${url()}?token=s3cret-token-0123456789`];
      send({ payload: 'ab', topic: 'pushed' });
      await until(() => reports.length === 1, 5000, 'the pushed report');
      reports[0].sent.topic.should.equal('pushed');
      await until(() => server.pushes.length === 1, 2000, 'the push to be answered');
      server.pushes[0].status.should.equal(200);
    });
    describe("Node-RED's settings for HTTP endpoints", function () {
      afterEach(() => helper.settings({ httpNodeRoot: undefined, httpNodeMiddleware: undefined }));

      it('httpNodeRoot false: no route, a warning and a red status', async function () {
        helper.settings({ httpNodeRoot: false });
        await loadWebhook();
        (await post(results(1))).status.should.equal(404);
        helper
          .getNode('rep')
          .warn.args.map((args) => String(args[0]))
          .should.eql([
            'httpNodeRoot is false in settings.js, so Node-RED serves no HTTP endpoints: the webhook was not created',
          ]);
        lastStatusOf('rep').should.have.properties({ fill: 'red', text: 'no HTTP endpoints' });
      });
      it('httpNodeMiddleware runs before the webhook, as for core http in nodes', async function () {
        helper.settings({
          httpNodeMiddleware: (req, res, next) => {
            if (req.headers['x-gateway'] === 'ok') next();
            else res.status(403).end();
          },
        });
        await loadWebhook();
        (await post(results(1))).status.should.equal(403);
        reports.should.be.empty();
        const response = await fetch(`${url()}?token=s3cret-token-0123456789`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-gateway': 'ok' },
          body: JSON.stringify(results(1)),
        });
        response.status.should.equal(200);
        reports.should.have.length(1);
      });
    });
    it('redeploying leaves exactly one route, and removing the node removes it', async function () {
      await loadWebhook();
      const flow = () => {
        const nodes = smsFlow(server.baseUrl);
        nodes.push({
          id: 'rep',
          type: 'binary-sms-report',
          z: 'tab1',
          account: 'acc1',
          mode: 'webhook',
          path: '/infobip/reports',
          wires: [['reports'], ['late']],
        });
        nodes.push({ id: 'reports', type: 'helper', z: 'tab1' }, { id: 'late', type: 'helper', z: 'tab1' });
        return nodes;
      };
      const creds = { acc1: { apiKey: API_KEY }, rep: { token: 's3cret-token-0123456789' } };
      for (let i = 0; i < 3; i++) {
        const changed = flow();
        changed.find((node) => node.id === 'rep').name = `round ${i}`;
        await helper.setFlows(changed, 'full', creds);
      }
      const router = httpNodeApp()._router ?? httpNodeApp().router;
      const routes = router.stack.filter((layer) => layer.route?.path === '/infobip/reports');
      routes.should.have.length(1);
      await helper.setFlows(smsFlow(server.baseUrl), 'full', CREDENTIALS);
      router.stack.filter((layer) => layer.route?.path === '/infobip/reports').should.have.length(0);
      (await post(results(1))).status.should.equal(404);
    });
  });
});
