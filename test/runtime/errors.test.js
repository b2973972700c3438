'use strict';
const should = require('should');
const {
  helper,
  collect,
  withRuntime,
  API_KEY,
  lastStatusOf,
  statusesOf,
  APIS,
  passesCode,
} = require('../support/runtime');

for (const api of APIS)
  describe(`binary-sms reports every failure once, to the Catch node (${api} account)`, function () {
    const env = withRuntime({ api });

    const { load } = env;

    /** Sends one message and expects exactly one error and no output. */
    async function failure(msg) {
      const result = collect(1, 150);
      helper.getNode('sms').receive(msg);
      const { outputs, errors } = await result;
      outputs.should.be.empty();
      errors.should.have.length(1);
      errors[0].error.source.id.should.equal('sms');
      return errors[0];
    }

    describe('invalid input is refused before any request', function () {
      const cases = [
        ['a payload that is not hex', { payload: 'hello' }, /msg\.payload is not hex: "hello"/],
        ['an odd number of hex digits', { payload: 'abc' }, /odd number of hex digits in "abc"/],
        ['an empty payload', { payload: '' }, /msg\.payload is empty/],
        [
          'a missing payload',
          {},
          /msg\.payload is missing: give the bytes to send as a Buffer, a Uint8Array, an array of integers 0–255 or a hex string/,
        ],
        ['an object payload', { payload: { a: 1 } }, /msg\.payload has type object/],
        ['a byte out of range', { payload: [1, 300] }, /msg\.payload\[1\] is 300: every byte must be an integer 0–255/],
        [
          'a destination with letters',
          { payload: 'ab', to: '41abc' },
          /Invalid destination "41abc" in msg\.to: use international format/,
        ],
        [
          'msg.to of the wrong type',
          { payload: 'ab', to: { n: 1 } },
          /msg\.to has type object: give a number in international format as a string or a whole number, or an array of them/,
        ],
        ['an empty msg.to', { payload: 'ab', to: [] }, /msg\.to is empty/],
        [
          'a sender too long',
          { payload: 'ab', from: 'MuchTooLongName' },
          /Invalid sender "MuchTooLongName" in msg\.from: use 3–11 letters/,
        ],
        [
          'a data coding out of range',
          { payload: 'ab', dataCoding: 256 },
          /Invalid value "256" in msg\.dataCoding: use an integer from 0 to 255/,
        ],
        ['a non-integer ESM class', { payload: 'ab', esmClass: 'x' }, /Invalid value "x" in msg\.esmClass/],
      ];
      for (const [name, msg, text] of cases) {
        it(`refuses ${name}`, async function () {
          await load();
          const caught = await failure({ ...msg, marker: 'original' });
          caught.marker.should.equal('original');
          caught.error.message.should.match(text);
          if (passesCode) caught.error.code.should.equal('input');
          should(caught.statusCode).be.undefined();
          env.server.requests.should.be.empty();
          lastStatusOf('sms').should.have.properties({ fill: 'red', shape: 'ring', text: 'invalid input' });
        });
      }

      it('names the node setting when the default destination is invalid', async function () {
        await load({ to: '12' });
        const caught = await failure({ payload: 'ab' });
        caught.error.message.should.match(/Invalid destination "12" in the node's "to" setting/);
        env.server.requests.should.be.empty();
      });
      it('says how to fix a missing destination', async function () {
        await load({ to: '' });
        (await failure({ payload: 'ab' })).error.message.should.match(
          /No destination: set msg\.to or the node's "To" setting/,
        );
      });
      it('says when no account is selected', async function () {
        await load({ account: '' });
        (await failure({ payload: 'ab' })).error.message.should.match(/No Infobip account is selected/);
        lastStatusOf('sms').should.have.properties({ fill: 'red', text: 'account not set up' });
      });
      it('says when the account has no API key or a bad base URL', async function () {
        await load({}, {}, { acc1: {} });
        (await failure({ payload: 'ab' })).error.message.should.match(/has no API key/);
        // Refused before sending: the status goes straight to red, never "sending".
        const shown = statusesOf('sms').map((status) => status.text);
        shown.should.not.be.empty();
        shown.filter((text) => text !== 'account not set up').should.eql([]);
        await helper.unload();
        await load({}, { baseUrl: 'api.infobip.com' });
        (await failure({ payload: 'ab' })).error.message.should.match(
          /base URL "api\.infobip\.com" is not an http\(s\) URL/,
        );
        env.server.requests.should.be.empty();
      });
      it('says when username and password sign-in lacks the password', async function () {
        await load({}, { authType: 'basic' }, { acc1: { username: 'demo' } });
        (await failure({ payload: 'ab' })).error.message.should.match(
          /uses username and password, but one of them is missing/,
        );
        env.server.requests.should.be.empty();
      });
      it('refuses a base URL with a user name and password, naming the fields they go in, never the password', async function () {
        await load({}, { baseUrl: 'https://demo:url-password-31@api.infobip.com' });
        const caught = await failure({ payload: 'ab' });
        caught.error.message.should.match(/base URL must not hold a user name or password/);
        caught.error.message.should.match(/API key.+Username.+Password/);
        caught.error.message.should.not.containEql('url-password-31');
        const warned = helper.getNode('acc1').warn.args.flat().join('\n');
        warned.should.match(/Base URL/);
        warned.should.not.containEql('url-password-31');
        env.server.requests.should.be.empty();
      });
      it('says when the base URL is empty', async function () {
        await load({}, { baseUrl: '' });
        (await failure({ payload: 'ab' })).error.message.should.match(/base URL "" is not an http\(s\) URL/);
        env.server.requests.should.be.empty();
      });
    });

    describe("HTTP errors carry the status and Infobip's text", function () {
      it('401 with username and password: the same hint, and the password never shown', async function () {
        await load({}, { authType: 'basic' }, { acc1: { username: 'demo', password: 'not-the-password' } });
        const caught = await failure({ payload: 'ab' });
        caught.statusCode.should.equal(401);
        caught.error.message.should.match(
          /Check the account's API key, or its username and password, and its base URL\.$/,
        );
        caught.error.message.should.not.containEql('not-the-password');
      });
      it('401: says the credentials were refused and where to fix them', async function () {
        await load({}, {}, { acc1: { apiKey: 'wrong-key-123' } });
        const caught = await failure({ payload: 'ab' });
        caught.statusCode.should.equal(401);
        if (passesCode) caught.error.code.should.equal('http');
        caught.error.message.should.equal(
          "Error: Infobip answered HTTP 401 Unauthorized (UNAUTHORIZED: Invalid login details). Check the account's API key, or its username and password, and its base URL.",
        );
        env.server.requests.should.have.length(1);
        lastStatusOf('sms').should.have.properties({ fill: 'red', text: 'HTTP 401' });
      });
      for (const [status, exception] of [
        [400, { serviceException: { messageId: 'BAD_REQUEST', text: 'Invalid destination address' } }],
        [403, { policyException: { messageId: 'FORBIDDEN', text: 'Binary SMS not enabled' } }],
        [500, { serviceException: { messageId: 'GENERAL_ERROR', text: 'Something went wrong' } }],
      ]) {
        it(`${status}: not retried, with Infobip's error text`, async function () {
          await load();
          env.server.plan({ status, body: { requestError: exception } });
          const caught = await failure({ payload: 'ab' });
          const detail = Object.values(exception)[0];
          caught.statusCode.should.equal(status);
          caught.error.message.should.equal(
            `Error: Infobip answered HTTP ${status} (${detail.messageId}: ${detail.text})`,
          );
          env.server.requests.should.have.length(1);
        });
      }
      it('an HTML error page from a proxy', async function () {
        await load();
        env.server.plan({
          status: 500,
          raw: '<!DOCTYPE html><html><body>Internal error</body></html>',
          contentType: 'text/html',
        });
        const caught = await failure({ payload: 'ab' });
        caught.statusCode.should.equal(500);
        caught.error.message.should.equal('Error: Infobip answered HTTP 500 (HTML page)');
      });
      for (const status of [502, 504]) {
        it(`${status} from a gateway: the delivery is unknown (it may have reached Infobip), never retried`, async function () {
          await load();
          env.server.plan({ status, raw: '<html><body>Bad gateway</body></html>', contentType: 'text/html' });
          const caught = await failure({ payload: 'ab' });
          caught.statusCode.should.equal(status);
          caught.error.message.should.equal(
            `Error: Infobip's gateway answered HTTP ${status} (HTML page): the request may have reached Infobip, so the delivery is unknown and it was not retried`,
          );
          if (passesCode) caught.error.code.should.equal('unknown');
          // v3: the ids the node chose are kept, so a later report still resolves the message.
          if (api === 'v3') Object.keys(caught.messageIds).should.eql(['41793026727']);
          else should(caught.messageIds).be.undefined();
          env.server.requests.should.have.length(1);
        });
      }
      it('an empty error body', async function () {
        await load();
        env.server.plan({ status: 404, raw: '' });
        (await failure({ payload: 'ab' })).error.message.should.equal('Error: Infobip answered HTTP 404 (empty body)');
      });
    });

    describe('unreadable or unexpected answers', function () {
      for (const [name, raw] of [
        ['malformed JSON', '{"messages": [ {"to": '],
        ['JSON without messages', '{"bulkId": "x"}'],
        ['an empty list of messages', '{"messages": []}'],
        ['an HTML page with status 200', '<html><body>Welcome</body></html>'],
      ]) {
        it(`200 with ${name}: delivery unknown, not retried`, async function () {
          await load();
          env.server.plan({ status: 200, raw });
          const caught = await failure({ payload: 'ab' });
          caught.statusCode.should.equal(200);
          caught.error.message.should.match(
            /^Error: Infobip answered HTTP 200 but not with a list of message statuses \(.+\): the delivery is unknown$/,
          );
          env.server.requests.should.have.length(1);
          lastStatusOf('sms').should.have.properties({ fill: 'red', text: 'bad response' });
        });
      }
    });

    describe('secrets never leak', function () {
      function everythingVisible(outputs, errors) {
        const node = helper.getNode('sms');
        return JSON.stringify({
          outputs,
          errors,
          statuses: node.status.args,
          logs: helper.log().args,
        });
      }

      it('keeps the API key out of messages, errors, statuses and logs, even when the server echoes it', async function () {
        await load();
        const echo = `App ${API_KEY}`;
        env.server.plan(
          {
            status: 400,
            body: { requestError: { serviceException: { messageId: 'BAD', text: `header was ${echo}` } } },
          },
          { status: 500, raw: `raw echo: ${API_KEY}` },
          { resetAfterBody: true },
        );
        const result = collect(4, 200);
        for (const payload of ['01', '02', '03', '04']) helper.getNode('sms').receive({ payload });
        const { outputs, errors } = await result;
        errors.should.have.length(3);
        outputs.should.have.length(1);
        errors[0].error.message.should.match(/header was \*\*\*/);
        const visible = everythingVisible(outputs, errors);
        visible.should.not.containEql(API_KEY);
        visible.should.not.match(/authorization/i);
      });

      it('keeps username and password out too', async function () {
        const credentials = { acc1: { username: 'demo', password: 'demo-password' } };
        await load({}, { authType: 'basic' }, credentials);
        const basic = Buffer.from('demo:demo-password').toString('base64');
        env.server.plan({ status: 401, raw: `bad credentials Basic ${basic} demo-password` });
        const caught = await failure({ payload: 'ab' });
        const visible = everythingVisible([], [caught]);
        visible.should.not.containEql('demo-password');
        visible.should.not.containEql(basic);
      });
    });
  });
