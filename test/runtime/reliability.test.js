'use strict';
// The contract under a strange answer, a hostile network and big fan-outs: every destination
// ends in exactly one output or is named in an error, no secret leaks, nothing is sent twice.
const http = require('node:http');
const net = require('node:net');
const should = require('should');
const {
  helper,
  collect,
  withRuntime,
  API_KEY,
  CREDENTIALS,
  lastStatusOf,
  APIS,
  messagesReceived,
} = require('../support/runtime');

const PENDING = { groupId: 1, groupName: 'PENDING', id: 26, name: 'PENDING_ACCEPTED', description: 'sent' };

for (const api of APIS)
  describe(`binary-sms reliability (${api} account)`, function () {
    const env = withRuntime({ api });
    /** An entry of Infobip's answer in the account's API: v1 names the number `to`, v3 `destination`. */
    const entry = (to, extra = {}) =>
      api === 'v1'
        ? { to, status: PENDING, smsCount: 1, messageId: `id-${to}`, ...extra }
        : { destination: to, status: PENDING, details: { messageCount: 1 }, messageId: `id-${to}`, ...extra };

    async function send(msg, expected, settleMs = 200) {
      const result = collect(expected, settleMs);
      helper.getNode('sms').receive(msg);
      return result;
    }

    describe('an answer that does not match the request', function () {
      it('destinations missing from a 200 end in one error naming them, with msg.to = the missing ones', async function () {
        await env.load();
        env.server.plan({ status: 200, body: { bulkId: 'b1', messages: [entry('41793026834')] } });
        const { outputs, errors } = await send({ payload: 'ab', to: ['41793026727', '41793026834', '41793026999'] }, 2);
        outputs.map((msg) => msg.to).should.eql(['41793026834']);
        outputs[0].parts.should.have.properties({ index: 0, count: 1 });
        errors.should.have.length(1);
        errors[0].to.should.eql(['41793026727', '41793026999']);
        errors[0].statusCode.should.equal(200);
        errors[0].error.message.should.match(
          /no status for 2 of the destinations \(41793026727, 41793026999\): their delivery is unknown/,
        );
        lastStatusOf('sms').should.have.properties({ fill: 'red', text: 'delivery unknown' });
      });
      it('entries for numbers never sent, or listed twice, are not emitted; one warning says so', async function () {
        await env.load();
        env.server.plan({
          status: 200,
          body: { messages: [entry('41793026727'), entry('41793026727'), entry('41700000000')] },
        });
        const { outputs, errors } = await send({ payload: 'ab', to: '41793026727' }, 1);
        errors.should.be.empty();
        outputs.should.have.length(1);
        outputs[0].to.should.equal('41793026727');
        const warnings = helper.getNode('sms').warn.args.map((args) => String(args[0]));
        warnings.should.have.length(1);
        warnings[0].should.match(/listed 2 entries for numbers that were not sent or were listed twice/);
      });
      it('outputs follow the order Infobip lists them in, not the order sent', async function () {
        await env.load();
        env.server.plan({ status: 200, body: { bulkId: 'b', messages: [entry('41793026834'), entry('41793026727')] } });
        const { outputs } = await send({ payload: 'ab', to: ['41793026727', '41793026834'] }, 2);
        outputs.map((msg) => msg.to).should.eql(['41793026834', '41793026727']);
        outputs.map((msg) => msg.parts.index).should.eql([0, 1]);
      });
      it('an entry with status null is an unreadable answer, not an output', async function () {
        await env.load();
        env.server.plan({ status: 200, body: { messages: [{ to: '41793026727', status: null }] } });
        const { outputs, errors } = await send({ payload: 'ab' }, 1);
        outputs.should.be.empty();
        errors[0].error.message.should.match(/not with a list of message statuses/);
      });
    });

    describe('secrets that a server echoes back', function () {
      it('a key split by the 120-character cut does not leak its first characters', async function () {
        await env.load();
        const text = 'x'.repeat(110) + API_KEY + ' trailing';
        env.server.plan({ status: 400, raw: text, contentType: 'text/plain' });
        const { errors } = await send({ payload: 'ab' }, 1);
        errors[0].error.message.should.not.containEql(API_KEY.slice(0, 8));
      });
      it('a password echoed JSON-escaped, URL-encoded or in base64 is masked', async function () {
        const password = 'Pa"ss\\w0rd! ü';
        const credentials = { acc1: { username: 'demo', password } };
        await env.load({}, { authType: 'basic' }, credentials);
        env.server.password = password;
        const echoes = [
          JSON.stringify(password).slice(1, -1),
          encodeURIComponent(password),
          Buffer.from(password).toString('base64'),
        ];
        for (const echo of echoes) {
          env.server.plan({ status: 400, raw: `{"echo":"got ${echo}"}` });
          const { errors } = await send({ payload: 'ab' }, 1);
          errors[0].error.message.should.not.containEql(echo);
          errors[0].error.message.should.containEql('***');
        }
      });
      it('a password echoed in a 200 with an escaped slash (se\\/cret) reaches msg.payload masked', async function () {
        const password = 'se/cret-pw';
        await env.load({}, { authType: 'basic' }, { acc1: { username: 'demo', password } });
        env.server.password = password;
        const description = 'login se\\/cret-pw';
        env.server.plan({
          status: 200,
          raw: `{"messages":[{"to":"41793026727","messageId":"m1","status":{"groupName":"PENDING","description":"${description}"}}]}`,
        });
        const { outputs } = await send({ payload: 'ab' }, 1);
        JSON.stringify(outputs[0]).should.not.containEql(password);
        outputs[0].payload.status.description.should.equal('login ***');
      });
      it('a secret shorter than four characters is masked too', async function () {
        await env.load({}, { authType: 'basic' }, { acc1: { username: 'demo', password: 'x9!' } });
        env.server.password = 'x9!';
        env.server.plan({
          status: 200,
          body: { messages: [entry('41793026727', { status: { ...PENDING, description: 'password x9! used' } })] },
        });
        const { outputs } = await send({ payload: 'ab' }, 1);
        outputs[0].payload.status.description.should.equal('password *** used');
      });
      it('a 200 entry that echoes the key reaches msg.payload masked', async function () {
        await env.load();
        env.server.plan({
          status: 200,
          body: { messages: [entry('41793026727', { status: { ...PENDING, description: `key ${API_KEY}` } })] },
        });
        const { outputs } = await send({ payload: 'ab' }, 1);
        JSON.stringify(outputs[0]).should.not.containEql(API_KEY);
        outputs[0].payload.status.description.should.equal('key ***');
      });
    });

    describe('fan-out', function () {
      it('10,000 destinations as an array: one output each, none sharing the input list', async function () {
        await env.load();
        const to = Array.from({ length: 10000 }, (_, i) => String(41790000000 + i));
        const { outputs, errors } = await send({ payload: 'ab', to, tag: { keep: true } }, 10000, 300);
        errors.should.be.empty();
        outputs.should.have.length(10000);
        new Set(outputs.map((msg) => msg.to)).size.should.equal(10000);
        outputs.forEach((msg) => msg.to.should.be.a.String());
        outputs[0].tag.should.eql({ keep: true });
        (outputs[0].tag === outputs[1].tag).should.be.false();
      });
    });

    describe('settings checked when the node starts', function () {
      it('a timeout beyond what setTimeout holds is refused at deploy, naming the setting', async function () {
        await env.load({}, { timeout: 99999999999 });
        lastStatusOf('sms').should.have.properties({ fill: 'red', text: 'account not set up' });
        helper
          .getNode('acc1')
          .warn.args.map((args) => String(args[0]))
          .should.eql([
            'Invalid account settings: Timeout. Every message sent through this account fails until they are corrected.',
          ]);
        const { errors } = await send({ payload: 'ab' }, 1);
        errors[0].error.message.should.match(/setting "Timeout" is "99999999999": use a number from 0.1 to 2147483/);
        env.server.requests.should.be.empty();
      });
      for (const [field, value] of [
        ['concurrency', 0],
        ['rateLimit', -1],
        ['queueLimit', 1.5],
        ['retries', 11],
        ['throttleWait', 'soon'],
      ]) {
        it(`an out-of-range ${field} is refused at deploy`, async function () {
          await env.load({}, { [field]: value });
          helper.getNode('acc1').warn.callCount.should.equal(1);
          const { errors } = await send({ payload: 'ab' }, 1);
          errors[0].error.message.should.match(new RegExp(`is "${value}": use a number`));
          env.server.requests.should.be.empty();
        });
      }
      it('a Status node sees the start-up status (account not set up)', async function () {
        const { statusNode, smsFlow, binarySms, infobipAccount, catchNode } = require('../support/runtime');
        const flow = smsFlow(env.server.baseUrl, {}, { api, timeout: 'never' });
        flow.push({ id: 'watch', type: 'status', z: 'tab1', scope: ['sms'], wires: [['seen']] });
        flow.push({ id: 'seen', type: 'helper', z: 'tab1' });
        await helper.load([infobipAccount, binarySms, catchNode, statusNode], flow, CREDENTIALS);
        const seen = [];
        helper.getNode('seen').on('input', (msg) => seen.push(msg.status));
        const deadline = Date.now() + 2000;
        while (seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        seen.should.not.be.empty();
        seen[0].should.have.properties({ fill: 'red', text: 'account not set up' });
      });
      it('invalid node settings show the first in a red status and one warning lists them all', async function () {
        await env.load({ from: 'MuchTooLongName', to: '12', dataCoding: 300 });
        const sms = helper.getNode('sms');
        lastStatusOf('sms').should.have.properties({ fill: 'red' });
        lastStatusOf('sms').text.should.match(/Invalid sender "MuchTooLongName" in the node's "from" setting/);
        sms.warn.callCount.should.equal(1);
        const warning = String(sms.warn.args[0][0]);
        warning.should.match(/sender "MuchTooLongName"/);
        warning.should.match(/destination "12"/);
        warning.should.match(/"300" in the node's "dataCoding" setting/);
      });
    });

    describe('idle connections', function () {
      // The server forgets a connection idle for more than 5 s, as a NAT may; the account must
      // not reuse one that old. With a plain keep-alive agent the second send would hang.
      it('a send after a long pause opens a fresh connection instead of using a forgotten one', async function () {
        this.timeout(20000);
        env.server.forgetIdleMs = 5000;
        await env.load({}, { timeout: 3 });
        (await send({ payload: '01' }, 1)).outputs.should.have.length(1);
        await new Promise((resolve) => setTimeout(resolve, 6000));
        const { outputs, errors } = await send({ payload: '02' }, 1);
        errors.should.be.empty();
        outputs.should.have.length(1);
        env.server.lost.should.equal(0);
      });
      it('an answer slower than the idle bound but within the timeout is waited for', async function () {
        this.timeout(20000);
        env.server.delayMs = 5000;
        await env.load({}, { timeout: 10 });
        const { outputs, errors } = await send({ payload: '01' }, 1);
        errors.should.be.empty();
        outputs.should.have.length(1);
      });
      it("a server's shorter Keep-Alive timeout is honoured", async function () {
        this.timeout(20000);
        env.server.keepAliveHint = 2;
        env.server.forgetIdleMs = 1500;
        await env.load({}, { timeout: 3 });
        (await send({ payload: '01' }, 1)).outputs.should.have.length(1);
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const { outputs, errors } = await send({ payload: '02' }, 1);
        errors.should.be.empty();
        outputs.should.have.length(1);
        env.server.lost.should.equal(0);
      });
    });

    describe('smaller ones', function () {
      for (const header of ['-5', 'soon']) {
        it(`Retry-After "${header}" is ignored: the account backs off instead of retrying at once`, async function () {
          await env.load();
          env.server.plan({ status: 429, headers: { 'retry-after': header }, raw: '' });
          const { outputs } = await send({ payload: 'ab' }, 1);
          outputs.should.have.length(1);
          const [first, second] = env.server.requests;
          (second.receivedAt - first.receivedAt).should.be.aboveOrEqual(450);
        });
      }
      it("Infobip's newer error body shows as errorCode: description", async function () {
        await env.load();
        env.server.plan({
          status: 400,
          body: { errorCode: 'E400', description: 'Invalid destination', action: 'Check to', violations: [] },
        });
        const { errors } = await send({ payload: 'ab' }, 1);
        errors[0].error.message.should.equal('Error: Infobip answered HTTP 400 (E400: Invalid destination)');
      });
      describe('a proxy that refuses the tunnel', function () {
        let proxy;
        let connects = 0;
        beforeEach(async function () {
          connects = 0;
          proxy = http.createServer();
          proxy.on('connect', (_req, socket) => {
            connects++;
            socket.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
          });
          await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
          process.env.HTTPS_PROXY = `http://127.0.0.1:${proxy.address().port}`;
        });
        afterEach(async function () {
          delete process.env.HTTPS_PROXY;
          await new Promise((resolve) => proxy.close(resolve));
        });
        it('is named as the proxy, treated as nothing sent, and retried', async function () {
          await env.load({}, { retries: 1 }, CREDENTIALS, 'https://example.api.infobip.com');
          const { outputs, errors } = await send({ payload: 'ab' }, 1);
          outputs.should.be.empty();
          errors[0].error.message.should.match(
            /The proxy 127\.0\.0\.1:\d+ refused to connect to Infobip \(HTTP 502\); nothing was sent \(after 2 attempts\)/,
          );
          should(errors[0].statusCode).be.undefined();
          connects.should.equal(2);
          lastStatusOf('sms').text.should.equal('connection failed');
        });
      });
    });

    describe('through a real forward proxy (HTTP_PROXY)', function () {
      let proxy;
      let tunnels;
      beforeEach(async function () {
        const { createProxy } = await import('proxy');
        tunnels = [];
        proxy = createProxy(http.createServer());
        proxy.authenticate = (req) =>
          req.headers['proxy-authorization'] === 'Basic ' + Buffer.from('pu:pp').toString('base64');
        proxy.on('connect', (req) => tunnels.push(req.url));
        await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      });
      afterEach(async function () {
        delete process.env.HTTP_PROXY;
        delete process.env.NO_PROXY;
        proxy.closeAllConnections();
        await new Promise((resolve) => proxy.close(resolve));
      });
      const proxyUrl = (auth = 'pu:pp@') => `http://${auth}127.0.0.1:${proxy.address().port}`;

      it('tunnels to Infobip with the proxy credentials, which never show', async function () {
        process.env.HTTP_PROXY = proxyUrl();
        await env.load();
        const { outputs, errors } = await send({ payload: 'ab' }, 1);
        errors.should.be.empty();
        outputs.should.have.length(1);
        tunnels.should.eql([`127.0.0.1:${env.server.port}`]);
        env.server.requests.should.have.length(1);
        should(env.server.requests[0].headers['proxy-authorization']).be.undefined();
        JSON.stringify(outputs).should.not.containEql('pp');
      });
      it('wrong proxy credentials: refused (407), nothing sent', async function () {
        process.env.HTTP_PROXY = proxyUrl('pu:wrong@');
        await env.load({}, { retries: 0 });
        const { errors } = await send({ payload: 'ab' }, 1);
        errors[0].error.message.should.match(
          /The proxy 127\.0\.0\.1:\d+ refused to connect to Infobip \(HTTP 407\); nothing was sent/,
        );
        errors[0].error.message.should.not.containEql('wrong');
        env.server.requests.should.be.empty();
      });
      it('NO_PROXY names the Infobip host: no tunnel', async function () {
        process.env.HTTP_PROXY = proxyUrl();
        process.env.NO_PROXY = '127.0.0.1';
        await env.load();
        (await send({ payload: 'ab' }, 1)).outputs.should.have.length(1);
        tunnels.should.be.empty();
      });
    });

    describe('a proxy that accepts the connection and never answers CONNECT', function () {
      let silent;
      beforeEach(async function () {
        silent = net.createServer(() => undefined);
        await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
        process.env.HTTPS_PROXY = `http://127.0.0.1:${silent.address().port}`;
      });
      afterEach(async function () {
        delete process.env.HTTPS_PROXY;
        await new Promise((resolve) => {
          silent.close(resolve);
          for (const socket of silentSockets) socket.destroy();
        });
      });
      const silentSockets = new Set();
      it('is "nothing was sent" (no tunnel existed), not "delivery unknown"', async function () {
        this.timeout(30000);
        silent.on('connection', (socket) => silentSockets.add(socket));
        await env.load({}, { retries: 0, timeout: 20 }, CREDENTIALS, 'https://example.api.infobip.com');
        const { errors } = await send({ payload: 'ab' }, 1);
        errors[0].error.message.should.match(/The proxy 127\.0\.0\.1:\d+ did not answer .* in time; nothing was sent/);
        lastStatusOf('sms').text.should.equal('connection failed');
      });
    });

    describe("bursts follow Node-RED's buffering rule", function () {
      afterEach(() => helper.settings({ nodeMessageBufferMaxLength: undefined }));

      it('20,000 messages in one burst with default settings all end in outputs', async function () {
        this.timeout(90000);
        await env.load({}, { queueLimit: '' });
        const result = collect(20000, 300, 80000);
        for (let seq = 0; seq < 20000; seq++) helper.getNode('sms').receive({ payload: [seq >> 8, seq & 0xff], seq });
        const { outputs, errors } = await result;
        errors.should.be.empty();
        outputs.should.have.length(20000);
        messagesReceived(env.server).should.equal(20000);
      });
      it('nodeMessageBufferMaxLength from settings.js limits the queue when the account sets none', async function () {
        helper.settings({ nodeMessageBufferMaxLength: 10 });
        await env.load({}, { queueLimit: '', concurrency: 1 });
        env.server.delayMs = 50;
        const result = collect(30, 300);
        for (let seq = 0; seq < 30; seq++) helper.getNode('sms').receive({ payload: [seq], seq });
        const { outputs, errors } = await result;
        outputs.should.have.length(11);
        errors.should.have.length(19);
        errors[0].error.message.should.match(/Queue full: 10 messages already wait/);
      });
    });
  });
