'use strict';
// The infobip-sms-in node against the local Infobip stand-in: inbound SMS pulled and pushed, each
// emitted once, never lost, and tied to what the flow last sent to the device's number.
const http = require('node:http');
const should = require('should');
const {
  arrivalsAt,
  helper,
  binarySms,
  infobipAccount,
  infobipSmsIn,
  httpNodeApp,
  catchNode,
  smsFlow,
  inboundFlow,
  API_KEY,
  APIS,
  CREDENTIALS,
  statusesOf,
  lastStatusOf,
} = require('../support/runtime');
const { InfobipTestServer } = require('../../dev/infobip-server');
const { wait, until } = require('../../dev/wait');

/** A demo device of the stand-in: it answers `ACK <first byte>` a second after a delivery. */
const DEVICE = '41793026788';
const TOKEN = 's3cret-token-0123456789';

describe('infobip-sms-in', function () {
  let server;
  let replies;
  let sent;

  beforeEach(async function () {
    await helper.startServer();
    server = await new InfobipTestServer({ apiKey: API_KEY, reportDelayMs: 50 }).start();
    replies = [];
    sent = [];
  });
  afterEach(async function () {
    await helper.unload();
    await helper.stopServer();
    await server.stop();
  });

  async function load(inboundOverrides = {}, accountOverrides = {}, credentials = CREDENTIALS) {
    const flow = inboundFlow(server.baseUrl, inboundOverrides, accountOverrides);
    await helper.load([infobipAccount, binarySms, infobipSmsIn, catchNode], flow, credentials);
    helper.getNode('replies').on('input', (msg) => replies.push(msg));
    helper.getNode('out').on('input', (msg) => sent.push(msg));
  }
  const send = (msg) => helper.getNode('sms').receive(msg);
  const statusTexts = () => statusesOf('in').map((status) => status.text);
  /** Everything the inbound node logged. */
  const logged = () =>
    ['log', 'warn', 'error'].flatMap((level) => helper.getNode('in')[level].args.map((args) => String(args[0])));
  const inbound = (messageId, from = '41793026727', text = 'hello') => ({
    messageId,
    from,
    to: '447860099299',
    text,
    cleanText: text,
    receivedAt: new Date().toISOString().replace('Z', '+0000'),
    smsCount: 1,
  });

  describe('polling', function () {
    for (const api of APIS) {
      it(`${api}: a command to a device, its reply with what was sent, every field Infobip gave`, async function () {
        await load({}, { api });
        send({ payload: 'ab 01', to: DEVICE, topic: 'position?', device: { id: 88 } });
        await until(() => replies.length === 1, 8000, 'the reply');
        const [reply] = replies;
        const [original] = server.inboundMade;
        reply.inbound.should.eql(original);
        reply.payload.should.equal('ACK AB');
        reply.should.have.properties({ from: DEVICE, to: '447860099299', keyword: 'ACK', cleanText: 'AB' });
        reply.messageId.should.equal(original.messageId);
        reply.receivedAt.should.equal(original.receivedAt);
        reply.sent.should.have.properties({ topic: 'position?', device: { id: 88 }, to: DEVICE });
        reply.sent.messageId.should.equal(sent[0].messageId);
        should(reply.sent.payload).be.undefined();
        server.inboxPolls.forEach((poll) => poll.url.should.equal('/sms/1/inbox/reports?limit=1000'));
        await until(() => statusTexts().includes('every 1 s, 1 received'), 3000, 'the status');
      });
    }
    it('fetches full pages of 1000 one after another, emitting every SMS once, in order', async function () {
      for (let i = 0; i < 2500; i++) server.inbound.push(inbound(`in${i}`));
      await load({ interval: 60 });
      await until(() => replies.length === 2500, 10000, '2500 SMS');
      await wait(200);
      replies.map((msg) => msg.messageId).should.eql(Array.from({ length: 2500 }, (_, i) => `in${i}`));
      server.inboxPolls
        .slice(0, 3)
        .map((poll) => poll.answered)
        .should.eql([1000, 1000, 500]);
      // At once, not after the interval (60 s).
      server.inboxPolls.length.should.equal(3);
    });
    it('5xx, 429 with Retry-After, a reset and a hang back off and lose nothing', async function () {
      this.timeout(45000);
      server.inbound.push(inbound('survivor'));
      server.plannedInbox.push(
        { status: 502, body: '<html>bad gateway</html>' },
        { status: 429, body: '', headers: { 'retry-after': '1' } },
        { resetAfterBody: true },
        { hang: true },
      );
      await load({}, { timeout: 1 });
      await until(() => replies.length === 1, 35000, 'the SMS after the faults');
      server.inboxPolls.length.should.be.aboveOrEqual(5);
      (server.inboxPolls[2].at - server.inboxPolls[1].at).should.be.aboveOrEqual(950);
      statusTexts()
        .some((text) => /^retrying in \d+ s$/.test(text))
        .should.be.true();
      const warnings = helper.getNode('in').warn.args.map((args) => String(args[0]));
      warnings.should.have.length(1);
      warnings[0].should.match(/^Fetching inbound SMS failed \(HTTP 502.*nothing is lost$/);
      await wait(1200);
      replies.map((msg) => msg.messageId).should.eql(['survivor']);
      lastStatusOf('in').should.have.properties({ fill: 'green', text: 'every 1 s, 1 received' });
    });
    it('401: red status and one error naming the scope, without secrets; polling goes on', async function () {
      await load({}, {}, { acc1: { apiKey: 'wrong-key-123456' } });
      await until(() => server.inboxPolls.length >= 2, 5000, 'two polls');
      lastStatusOf('in').should.have.properties({ fill: 'red', text: 'unauthorized' });
      const errors = helper.getNode('in').error.args.map((args) => String(args[0]));
      errors.should.have.length(1);
      errors[0].should.match(/\(HTTP 401\).*scope sms:inbound-message:read/);
      logged().join('\n').should.not.containEql('wrong-key-123456');
    });
    it('403 (a key without the inbound scope): red status, then green once Infobip lets it read', async function () {
      server.plannedInbox.push({ status: 403, body: { requestError: { serviceException: { text: 'Forbidden' } } } });
      server.inbound.push(inbound('after-403'));
      await load();
      await until(() => replies.length === 1, 5000, 'the SMS after the 403');
      statusesOf('in')
        .map((status) => status.fill)
        .should.containEql('red');
      helper.getNode('in').error.callCount.should.equal(1);
      await until(() => lastStatusOf('in').fill === 'green', 3000, 'green again');
    });
    it('SMS fetched while the node is redeployed are still emitted', async function () {
      await load({ interval: 1 });
      await until(() => server.inboxPolls.length === 1, 3000, 'the first poll');
      server.inbound.push(inbound('late-1'));
      server.plannedInbox.push({ delayMs: 1500 });
      await until(() => server.inboxPolls.length === 2, 3000, 'the second poll');
      // Its answer comes in 1.5 s: redeploy now, so the node closes with the poll under way.
      server.plannedInbox.push({ status: 200, body: { results: [] } });
      await helper.setFlows(inboundFlow(server.baseUrl, { interval: 60, name: 'redeployed' }), 'nodes', CREDENTIALS);
      await until(() => replies.length === 1, 5000, 'the SMS fetched while closing');
      replies[0].messageId.should.equal('late-1');
    });
    it('a full deploy with a poll under way: the SMS fetched while closing is emitted by the next node', async function () {
      const arrived = arrivalsAt('replies');
      try {
        await load({ interval: 1 });
        await until(() => server.inboxPolls.length === 1, 3000, 'the first poll');
        server.inbound.push(inbound('full-1'));
        server.plannedInbox.push({ delayMs: 1500 });
        await until(() => server.inboxPolls.length === 2, 3000, 'the second poll');
        server.plannedInbox.push({ status: 200, body: { results: [] } });
        await helper.setFlows(inboundFlow(server.baseUrl, { interval: 60, name: 'full' }), 'full', CREDENTIALS);
        await until(() => arrived.length === 1, 5000, 'the SMS fetched while closing');
        arrived[0].messageId.should.equal('full-1');
        await wait(1000);
        arrived.should.have.length(1);
      } finally {
        arrived.stop();
      }
    });
    it('a bad setting: red status and an error at deploy, no polling', async function () {
      await load({ replyWindow: 'soon' });
      helper
        .getNode('in')
        .error.args.map((args) => String(args[0]))
        .should.eql(['The setting "Reply window" is "soon": use a number from 0 to 2880']);
      await wait(1200);
      server.inboxPolls.should.be.empty();
    });
  });

  describe('secrets', function () {
    for (const api of APIS) {
      it(`${api}: a short password is masked in errors only, never in ids, numbers or a device's text`, async function () {
        server.password = '41';
        await load({}, { api, authType: 'basic' }, { acc1: { username: 'demo', password: '41' } });
        send({ payload: '01', to: '41793026727', topic: 'where?' });
        await until(() => sent.length === 1, 3000, 'the send');
        sent[0].to.should.equal('41793026727');
        (sent[0].payload.to ?? sent[0].payload.destination).should.equal('41793026727');
        sent[0].payload.status.groupName.should.equal('PENDING');
        server.receive('41793026727', 'POS 41.37');
        await until(() => replies.length === 1, 5000, 'the reply');
        replies[0].payload.should.equal('POS 41.37');
        replies[0].from.should.equal('41793026727');
        replies[0].sent.topic.should.equal('where?');
      });
    }
  });

  describe('reply window', function () {
    it('inside: the last message sent to the number, not an earlier one', async function () {
      await load();
      send({ payload: '01', to: '41793026727', topic: 'first' });
      await until(() => sent.length === 1, 3000, 'the first send');
      send({ payload: '02', to: '+41 79 302 67 27', topic: 'second' });
      await until(() => sent.length === 2, 3000, 'the second send');
      server.receive('41793026727', 'OK');
      await until(() => replies.length === 1, 5000, 'the reply');
      replies[0].sent.topic.should.equal('second');
      replies[0].sent.messageId.should.equal(sent[1].messageId);
    });
    it('outside: a reply received after the window has no msg.sent', async function () {
      await load({ replyWindow: 1 });
      send({ payload: '01', to: '41793026727', topic: 'long ago' });
      await until(() => sent.length === 1, 3000, 'the send');
      const inTwoMinutes = new Date(Date.now() + 120_000).toISOString().replace('Z', '+0000');
      server.receive('41793026727', 'late', { receivedAt: inTwoMinutes });
      server.receive('41793026727', 'in time');
      await until(() => replies.length === 2, 5000, 'the replies');
      should(replies[0].sent).be.undefined();
      replies[1].sent.topic.should.equal('long ago');
    });
    it('before: an SMS the device sent before the command is no reply to it', async function () {
      await load();
      send({ payload: '01', to: '41793026727', topic: 'status?' });
      await until(() => sent.length === 1, 3000, 'the send');
      const stamp = (offsetMs) => new Date(Date.now() + offsetMs).toISOString().replace('Z', '+0000');
      server.receive('41793026727', 'unsolicited, 10 minutes before', { receivedAt: stamp(-600_000) });
      server.receive('41793026727', 'clocks 5 s apart', { receivedAt: stamp(-5000) });
      await until(() => replies.length === 2, 5000, 'the replies');
      should(replies[0].sent).be.undefined();
      replies[1].sent.topic.should.equal('status?');
    });
    it('off (0): no msg.sent, and the account tracks nothing by number', async function () {
      await load({ replyWindow: 0 });
      should(helper.getNode('acc1').account.byNumber).be.undefined();
      send({ payload: '01', to: '41793026727', topic: 'untracked' });
      await until(() => sent.length === 1, 3000, 'the send');
      server.receive('41793026727', 'OK');
      await until(() => replies.length === 1, 5000, 'the reply');
      should(replies[0].sent).be.undefined();
    });
    it('v3: a command whose delivery is unknown (timeout) may have arrived: its reply carries it', async function () {
      const caught = [];
      await load({}, { api: 'v3', timeout: 1 });
      helper.getNode('caught').on('input', (msg) => caught.push(msg));
      server.plan({ delayMs: 2500 });
      send({ payload: '01', to: '41793026727', topic: 'unlock' });
      await until(() => caught.length === 1, 5000, 'the delivery-unknown error');
      server.receive('41793026727', 'UNLOCKED');
      await until(() => replies.length === 1, 5000, 'the reply');
      replies[0].sent.topic.should.equal('unlock');
      replies[0].sent.messageId.should.equal(caught[0].messageIds['41793026727']);
    });
    it('v3: a fan-out whose delivery is unknown: each number remembers only its own id', async function () {
      const caught = [];
      const numbers = ['41793026727', '41793026834', '41793026999'];
      await load({}, { api: 'v3', timeout: 1 });
      helper.getNode('caught').on('input', (msg) => caught.push(msg));
      server.plan({ delayMs: 2500 });
      send({ payload: '01', to: numbers, topic: 'unlock all' });
      await until(() => caught.length === 1, 5000, 'the delivery-unknown error');
      Object.keys(caught[0].messageIds).should.eql(numbers);
      for (const number of numbers) server.receive(number, 'UNLOCKED');
      await until(() => replies.length === 3, 5000, 'the replies');
      for (const reply of replies) {
        reply.sent.topic.should.equal('unlock all');
        reply.sent.to.should.equal(reply.from);
        reply.sent.messageIds.should.eql({ [reply.from]: caught[0].messageIds[reply.from] });
        reply.sent.messageId.should.equal(caught[0].messageIds[reply.from]);
      }
    });
    it('a message Infobip rejected is not what a reply answers', async function () {
      await load();
      send({ payload: '01', to: '41793026727', topic: 'accepted' });
      await until(() => sent.length === 1, 3000, 'the send');
      server.plan({
        status: 200,
        body: { messages: [{ to: '41793026727', messageId: 'rej-1', status: { groupName: 'REJECTED' } }] },
      });
      send({ payload: '02', to: '41793026727', topic: 'rejected' });
      await until(() => sent.length === 2, 3000, 'the rejected send');
      server.receive('41793026727', 'OK');
      await until(() => replies.length === 1, 5000, 'the reply');
      replies[0].sent.topic.should.equal('accepted');
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
    const url = () => `http://127.0.0.1:${front.address().port}/infobip/inbound`;
    const post = (body, query = `?token=${TOKEN}`, contentType = 'application/json') =>
      fetch(url() + query, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const loadWebhook = (overrides = {}) =>
      load({ mode: 'webhook', ...overrides }, {}, { acc1: { apiKey: API_KEY }, in: { token: TOKEN } });

    it("the stand-in's push of a device's reply carries what was sent; 200 only after emitting", async function () {
      await loadWebhook();
      server.inboundUrl = `${url()}?token=${TOKEN}`;
      send({ payload: '7f', to: DEVICE, topic: 'configure' });
      await until(() => replies.length === 1, 8000, 'the pushed reply');
      replies[0].payload.should.equal('ACK 7F');
      replies[0].sent.topic.should.equal('configure');
      await until(() => server.pushes.length === 1, 2000, 'the push answered');
      server.pushes[0].status.should.equal(200);
      server.inboxPolls.should.be.empty();
      lastStatusOf('in').text.should.equal('listening on /infobip/inbound, 1 received');
    });
    it('answers a push only once its SMS were emitted', async function () {
      await loadWebhook();
      const response = await post({ results: [inbound('w1'), inbound('w2')] });
      // The helper's input handler ran before the answer came back.
      replies.map((msg) => msg.messageId).should.eql(['w1', 'w2']);
      response.status.should.equal(200);
    });
    it('needs the token: missing or wrong gets 401 and emits nothing', async function () {
      await loadWebhook();
      (await post({ results: [inbound('x')] }, '')).status.should.equal(401);
      (await post({ results: [inbound('x')] }, '?token=wrong')).status.should.equal(401);
      replies.should.be.empty();
    });
    it('400 for the wrong shape, 415 for a body that is not JSON, 413 over 1 MB; nothing emitted', async function () {
      await loadWebhook();
      const bad = await post({ results: [{ from: '41793026727', text: 'no id' }] });
      bad.status.should.equal(400);
      (await bad.json()).error.should.match(/expected \{ "results"/);
      (await post('text=hi', `?token=${TOKEN}`, 'text/plain')).status.should.equal(415);
      (await post({ results: [inbound('big', '41793026727', 'x'.repeat(1_100_000))] })).status.should.equal(413);
      replies.should.be.empty();
    });
    it('an SMS pushed twice (same messageId) is emitted once', async function () {
      await loadWebhook();
      (await post({ results: [inbound('dup')] })).status.should.equal(200);
      (await post({ results: [inbound('dup'), inbound('new')] })).status.should.equal(200);
      replies.map((msg) => msg.messageId).should.eql(['dup', 'new']);
    });
    it('without a token: accepted, but a yellow status and one warning say it is open', async function () {
      await load({ mode: 'webhook' });
      (await post({ results: [inbound('open')] }, '')).status.should.equal(200);
      helper.getNode('in').warn.callCount.should.equal(1);
      statusesOf('in')
        .map((status) => status.fill)
        .should.containEql('yellow');
    });
    it('a token shorter than 16 characters is refused at deploy: red status, one error, no route', async function () {
      await load({ mode: 'webhook' }, {}, { acc1: { apiKey: API_KEY }, in: { token: '41' } });
      helper
        .getNode('in')
        .error.args.map((args) => String(args[0]))
        .should.eql([
          "The webhook's token has 2 characters: use at least 16 (the dialog offers a random one), so that it cannot be guessed, and so that masking it never alters an answer.",
        ]);
      await until(() => statusesOf('in').length > 0, 2000, 'the status');
      lastStatusOf('in').fill.should.equal('red');
      (await post({ results: [inbound('x')] }, '?token=41')).status.should.equal(404);
      replies.should.be.empty();
    });
    it('redeploying leaves exactly one route, and removing the node removes it', async function () {
      await loadWebhook();
      const credentials = { acc1: { apiKey: API_KEY }, in: { token: TOKEN } };
      for (let i = 0; i < 3; i++) {
        await helper.setFlows(
          inboundFlow(server.baseUrl, { mode: 'webhook', name: `round ${i}` }),
          'full',
          credentials,
        );
      }
      const router = httpNodeApp()._router ?? httpNodeApp().router;
      const routes = () => router.stack.filter((layer) => layer.route?.path === '/infobip/inbound');
      routes().should.have.length(1);
      await helper.setFlows(smsFlow(server.baseUrl), 'full', CREDENTIALS);
      routes().should.have.length(0);
      (await post({ results: [inbound('gone')] })).status.should.equal(404);
    });
    it('httpNodeRoot false: no route, a warning and a red status', async function () {
      helper.settings({ httpNodeRoot: false });
      try {
        await loadWebhook();
        helper
          .getNode('in')
          .warn.args.map((args) => String(args[0]))
          .should.eql([
            'httpNodeRoot is false in settings.js, so Node-RED serves no HTTP endpoints: the webhook was not created',
          ]);
        await until(() => lastStatusOf('in').text === 'no HTTP endpoints', 2000, 'the red status');
      } finally {
        helper.settings({ httpNodeRoot: undefined });
      }
    });
    it('secrets: neither the API key nor the token is in messages, statuses or logs', async function () {
      await loadWebhook();
      server.inboundUrl = `${url()}?token=${TOKEN}`;
      send({ payload: 'ab', to: DEVICE });
      await until(() => replies.length === 1, 8000, 'the reply');
      (await post({ results: [inbound('w')] }, '?token=wrong')).status.should.equal(401);
      const seen = JSON.stringify({ replies, statuses: statusesOf('in'), logs: logged() });
      seen.should.not.containEql(API_KEY);
      seen.should.not.containEql(TOKEN);
    });
  });
});
