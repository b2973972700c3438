'use strict';
const should = require('should');
const net = require('node:net');
const {
  helper,
  binarySms,
  infobipAccount,
  catchNode,
  smsFlow,
  collect,
  withRuntime,
  APIS,
  sentMessages,
  messagesReceived,
  API_KEY,
  CREDENTIALS,
  statusesOf,
} = require('../support/runtime');
const { InfobipTestServer } = require('../../dev/infobip-server');

/** Each input (by msg.seq) must end in its outputs or in exactly one error, never both, never neither. */
function assertEachEndedOnce(count, outputs, errors, destinations = 1) {
  const outputsBySeq = new Map();
  for (const msg of outputs) outputsBySeq.set(msg.seq, (outputsBySeq.get(msg.seq) ?? 0) + 1);
  const errorsBySeq = new Map();
  for (const msg of errors) errorsBySeq.set(msg.seq, (errorsBySeq.get(msg.seq) ?? 0) + 1);
  for (let seq = 0; seq < count; seq++) {
    const out = outputsBySeq.get(seq) ?? 0;
    const err = errorsBySeq.get(seq) ?? 0;
    const ok = (out === destinations && err === 0) || (out === 0 && err === 1);
    ok.should.be.true(`message ${seq} ended in ${out} outputs and ${err} errors`);
  }
  outputs.length.should.equal(outputsBySeq.size * destinations);
}

/** The server saw each message at most once (the payload carries the sequence number). */
function assertReceivedAtMostOnce(server) {
  const seen = new Set();
  for (const { binary } of server.requests.flatMap(sentMessages)) {
    seen.has(binary.hex).should.be.false(`payload ${binary.hex} reached the server twice`);
    seen.add(binary.hex);
  }
}

function seqPayload(seq) {
  return Buffer.from([seq >> 8, seq & 0xff]);
}

async function freePort() {
  const probe = await new InfobipTestServer().start();
  const port = probe.port;
  await probe.stop();
  return port;
}

for (const api of APIS)
  describe(`delivery under faults (${api} account)`, function () {
    const env = withRuntime({ api });

    const load = (accountOverrides = {}, baseUrl = env.server.baseUrl) =>
      env.load({}, accountOverrides, CREDENTIALS, baseUrl);

    async function sendAll(count, settleMs = 150) {
      const result = collect(count, settleMs);
      for (let seq = 0; seq < count; seq++) helper.getNode('sms').receive({ payload: seqPayload(seq), seq });
      return result;
    }

    function statusTexts() {
      return statusesOf('sms').map((status) => status.text);
    }

    describe('retried: the request provably sent nothing', function () {
      it('429 with Retry-After waits as told, shows it, then succeeds', async function () {
        await load();
        env.server.plan({
          status: 429,
          headers: { 'retry-after': '1' },
          body: { requestError: { serviceException: { messageId: 'TOO_MANY_REQUESTS', text: 'Too many requests' } } },
        });
        const { outputs, errors } = await sendAll(1);
        errors.should.be.empty();
        outputs.should.have.length(1);
        env.server.requests.should.have.length(2);
        (env.server.requests[1].receivedAt - env.server.requests[0].receivedAt).should.be.aboveOrEqual(950);
        statusTexts().should.containEql('retrying in 1 s');
        outputs[0].statusCode.should.equal(200);
      });
      it('429 without Retry-After backs off exponentially', async function () {
        await load();
        env.server.plan({ status: 429, raw: '' }, { status: 429, raw: '' });
        const { outputs } = await sendAll(1);
        outputs.should.have.length(1);
        env.server.requests.should.have.length(3);
        const firstWait = env.server.requests[1].receivedAt - env.server.requests[0].receivedAt;
        const secondWait = env.server.requests[2].receivedAt - env.server.requests[1].receivedAt;
        // The backoff's exact values and cap are unit-tested with fake timers; here: it waited, and longer the second time.
        firstWait.should.be.aboveOrEqual(450);
        secondWait.should.be.aboveOrEqual(950);
      });
      it('503 with an HTTP-date Retry-After is retried', async function () {
        await load();
        env.server.plan({
          status: 503,
          headers: { 'retry-after': new Date(Date.now() + 1000).toUTCString() },
          raw: 'busy',
        });
        const { outputs, errors } = await sendAll(1);
        errors.should.be.empty();
        outputs.should.have.length(1);
        env.server.requests.should.have.length(2);
      });
      it('429s do not use up the retries: the message waits them out', async function () {
        await load({ retries: 0 });
        const tooMany = { status: 429, headers: { 'retry-after': '0' }, raw: '' };
        env.server.plan(tooMany, tooMany, tooMany);
        const { outputs, errors } = await sendAll(1);
        errors.should.be.empty();
        outputs.should.have.length(1);
        env.server.requests.should.have.length(4);
      });
      it('a message that waits out 429s longer than the account allows fails, saying nothing was sent', async function () {
        await load({ throttleWait: 1 });
        const tooMany = { status: 429, headers: { 'retry-after': '1' }, raw: '' };
        env.server.plan(tooMany, tooMany, tooMany);
        const { outputs, errors } = await sendAll(1, 300);
        outputs.should.be.empty();
        errors.should.have.length(1);
        errors[0].statusCode.should.equal(429);
        errors[0].error.message.should.equal(
          "Error: Infobip's HTTP 429 answers (too many requests or unavailable) held the message back longer than the account waits (1 s); nothing was sent (after 2 attempts)",
        );
        env.server.requests.should.have.length(2);
      });
      it('a Retry-After longer than the account waits fails at once instead of holding the message', async function () {
        await load();
        env.server.plan({ status: 429, headers: { 'retry-after': '3600' }, raw: '' });
        const { outputs, errors } = await sendAll(1);
        outputs.should.be.empty();
        errors.should.have.length(1);
        errors[0].statusCode.should.equal(429);
        errors[0].error.message.should.match(
          /Infobip asked to retry after 3600 s, longer than the node waits; nothing was sent/,
        );
        env.server.requests.should.have.length(1);
      });
      it('a refused connection is retried until the server comes back', async function () {
        const port = await freePort();
        await load({}, `http://127.0.0.1:${port}`);
        const later = new InfobipTestServer({ apiKey: API_KEY });
        setTimeout(() => later.start(port), 200);
        try {
          const { outputs, errors } = await sendAll(1);
          errors.should.be.empty();
          outputs.should.have.length(1);
          later.requests.should.have.length(1);
        } finally {
          await later.stop();
        }
      });
      it('a connection that never comes up ends in one error saying nothing was sent', async function () {
        const port = await freePort();
        await load({ retries: 1 }, `http://127.0.0.1:${port}`);
        const { outputs, errors } = await sendAll(1);
        outputs.should.be.empty();
        errors.should.have.length(1);
        errors[0].error.message.should.match(
          /Could not connect to Infobip \(ECONNREFUSED\).*nothing was sent \(after 2 attempts\)/,
        );
        should(errors[0].statusCode).be.undefined();
        statusTexts().should.containEql('connection failed');
      });
      it('a host name that does not resolve: retried, then "could not connect", nothing sent', async function () {
        await load({ retries: 1 }, 'http://infobip-test-host.invalid');
        const { outputs, errors } = await sendAll(1);
        outputs.should.be.empty();
        errors[0].error.message.should.match(
          /Could not connect to Infobip \((ENOTFOUND|EAI_AGAIN)\).*nothing was sent \(after 2 attempts\)/,
        );
      });
      it('a connection dropped while the request was still being written is retried: nothing was sent', async function () {
        // A front that takes the first connection, never reads it, and drops it; later ones reach Infobip.
        let connections = 0;
        const front = net.createServer((socket) => {
          if (++connections === 1) {
            socket.pause();
            setTimeout(() => socket.destroy(), 300);
            return;
          }
          const upstream = net.connect(env.server.port, '127.0.0.1');
          socket.pipe(upstream).pipe(socket);
          socket.on('error', () => upstream.destroy());
          upstream.on('error', () => socket.destroy());
        });
        await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
        try {
          await load({ retries: 1 }, `http://127.0.0.1:${front.address().port}`);
          // Large enough (9 MB of hex) that the write cannot finish into an unread connection.
          const result = collect(1, 150);
          helper.getNode('sms').receive({ payload: Buffer.alloc(3_000_000, 0xab) });
          const { outputs, errors } = await result;
          errors.map((msg) => msg.error.message).should.eql([]);
          outputs.should.have.length(1);
          connections.should.equal(2);
          env.server.requests.should.have.length(1);
          statusTexts()
            .some((text) => /^retrying in \d+ s$/.test(text))
            .should.be.true();
        } finally {
          front.close();
        }
      });
      it('503 beyond the wait: the status said retrying, the error names 503 and says nothing was sent', async function () {
        await load({ throttleWait: 1 });
        const busy = { status: 503, headers: { 'retry-after': '1' }, raw: 'busy' };
        env.server.plan(busy, busy);
        const { outputs, errors } = await sendAll(1, 300);
        outputs.should.be.empty();
        errors[0].statusCode.should.equal(503);
        errors[0].error.message.should.match(/HTTP 503 answers .* held the message back .*nothing was sent/);
        statusTexts().should.containEql('retrying in 1 s');
        statusTexts().should.containEql('HTTP 503');
      });
    });

    describe('never retried: the request may have reached Infobip', function () {
      it('500 is reported at once', async function () {
        await load();
        env.server.plan({ status: 500, raw: '' });
        const { errors } = await sendAll(1);
        errors.should.have.length(1);
        env.server.requests.should.have.length(1);
      });
      it('a connection reset after the request was sent: the server saw it once, delivery unknown', async function () {
        await load();
        env.server.plan({ resetAfterBody: true });
        const { outputs, errors } = await sendAll(1, 1500);
        outputs.should.be.empty();
        errors.should.have.length(1);
        errors[0].error.message.should.match(
          /failed \(ECONNRESET\) after the request was sent, at \d+\.\d s: the delivery is unknown, so it was not retried/,
        );
        env.server.requests.should.have.length(1);
        statusTexts().should.containEql('delivery unknown');
      });
      it('an answer slower than the timeout: delivery unknown, with the elapsed time, no retry', async function () {
        await load({ timeout: 0.3 });
        env.server.plan({ delayMs: 800 });
        const { outputs, errors } = await sendAll(1, 1500);
        outputs.should.be.empty();
        errors.should.have.length(1);
        errors[0].error.message.should.match(/No answer from Infobip within 0\.[3-9] s: the delivery is unknown/);
        env.server.requests.should.have.length(1);
        statusTexts().should.containEql('delivery unknown');
      });
    });

    describe('limits', function () {
      it('a burst of 5,000 messages: all delivered once, never more in flight than the limit', async function () {
        await load({ concurrency: 4, queueLimit: 5000 });
        env.server.delayMs = 1;
        const { outputs, errors } = await sendAll(5000, 300);
        errors.should.be.empty();
        assertEachEndedOnce(5000, outputs, errors);
        messagesReceived(env.server).should.equal(5000);
        assertReceivedAtMostOnce(env.server);
        env.server.peakInFlight.should.be.within(2, 4);
      });
      it('a full queue fails the overflow at once with "queue full", and sends the rest', async function () {
        await load({ concurrency: 1, queueLimit: 10 });
        env.server.delayMs = 50;
        const { outputs, errors } = await sendAll(30, 300);
        assertEachEndedOnce(30, outputs, errors);
        errors.should.have.length(19);
        errors.forEach((msg) => msg.error.message.should.match(/Queue full: 10 messages already wait/));
        outputs.should.have.length(11);
        messagesReceived(env.server).should.equal(11);
        statusTexts().should.containEql('queue full');
      });
      it('Parallel is shared by every node using the account', async function () {
        const flow = smsFlow(env.server.baseUrl, {}, { api, concurrency: 2 });
        flow.push({ ...flow.find((node) => node.id === 'sms'), id: 'sms2' });
        await helper.load([infobipAccount, binarySms, catchNode], flow, CREDENTIALS);
        env.server.delayMs = 30;
        const result = collect(40, 200);
        for (let seq = 0; seq < 20; seq++) {
          helper.getNode('sms').receive({ payload: seqPayload(seq), seq });
          helper.getNode('sms2').receive({ payload: seqPayload(100 + seq), seq: 100 + seq });
        }
        const { outputs, errors } = await result;
        errors.should.be.empty();
        outputs.should.have.length(40);
        env.server.peakInFlight.should.equal(2);
      });
      it('the rate limit spaces request starts', async function () {
        await load({ rateLimit: 20 });
        const { outputs } = await sendAll(6);
        outputs.should.have.length(6);
        const times = env.server.requests.map((request) => request.receivedAt);
        for (let i = 1; i < times.length; i++) (times[i] - times[i - 1]).should.be.aboveOrEqual(35);
      });
    });

    describe('closing', function () {
      it('redeploying in the middle of a burst ends every message once and sends none twice', async function () {
        // One message per request, so that many are still waiting when the node closes.
        await load({ concurrency: 2, queueLimit: 1000, batchSize: 1 });
        env.server.delayMs = 20;
        const result = sendAll(200, 300);
        await new Promise((resolve) => setTimeout(resolve, 150));
        const flow = smsFlow(
          env.server.baseUrl,
          { name: 'renamed' },
          { api, concurrency: 2, queueLimit: 1000, batchSize: 1 },
        );
        await helper.setFlows(flow, 'nodes', CREDENTIALS);
        const { outputs, errors } = await result;
        assertEachEndedOnce(200, outputs, errors);
        errors.length.should.be.above(100);
        errors.forEach((msg) =>
          msg.error.message.should.match(
            /The node was closed \(redeploy or shutdown\) before the message was sent; nothing was sent/,
          ),
        );
        outputs.length.should.equal(messagesReceived(env.server));
        assertReceivedAtMostOnce(env.server);
      });
      it('a message waiting to retry ends with "closed" when the node closes', async function () {
        await load();
        env.server.plan({ status: 429, headers: { 'retry-after': '30' }, raw: '' });
        const result = sendAll(1, 100);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await helper.setFlows(smsFlow(env.server.baseUrl, { name: 'renamed' }, { api }), 'nodes', CREDENTIALS);
        const { outputs, errors } = await result;
        outputs.should.be.empty();
        errors.should.have.length(1);
        errors[0].error.message.should.match(/closed .* nothing was sent/);
        env.server.requests.should.have.length(1);
        statusTexts().should.containEql('closed');
      });
      it('a request still in flight after the grace period is aborted and reported "delivery unknown"', async function () {
        this.timeout(30000);
        await load();
        env.server.plan({ delayMs: 20000 });
        const result = sendAll(1, 100);
        await new Promise((resolve) => setTimeout(resolve, 100));
        const started = Date.now();
        await helper.setFlows(smsFlow(env.server.baseUrl, { name: 'renamed' }, { api }), 'nodes', CREDENTIALS);
        const { outputs, errors } = await result;
        // Waited out the grace period (10 s) before aborting; the abort itself is unit-tested.
        (Date.now() - started).should.be.aboveOrEqual(9500);
        outputs.should.be.empty();
        errors[0].error.message.should.match(
          /The node closed while the request was in flight \(\d+\.\d s\): the delivery is unknown/,
        );
        statusTexts().should.containEql('delivery unknown');
      });
      it('a request in flight at close is awaited and its results still sent', async function () {
        await load();
        env.server.plan({ delayMs: 500 });
        const result = sendAll(1, 100);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await helper.setFlows(smsFlow(env.server.baseUrl, { name: 'renamed' }, { api }), 'nodes', CREDENTIALS);
        const { outputs, errors } = await result;
        errors.should.be.empty();
        outputs.should.have.length(1);
      });
      it('closing the account frees its connections', async function () {
        await load();
        await sendAll(3);
        env.server.sockets.size.should.be.above(0);
        await helper.unload();
        await new Promise((resolve) => setTimeout(resolve, 100));
        env.server.sockets.size.should.equal(0);
      });
    });
  });
