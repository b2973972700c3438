'use strict';
const should = require('should');
const vm = require('node:vm');
const {
  helper,
  binarySms,
  infobipAccount,
  catchNode,
  joinNode,
  functionNode,
  smsFlow,
  collect,
  withRuntime,
  API_KEY,
  CREDENTIALS,
  statusesOf,
  lastStatusOf,
  APIS,
  sentMessage,
  numberIn,
  partsIn,
} = require('../support/runtime');

for (const api of APIS)
  describe(`binary-sms sends what it is given (${api} account)`, function () {
    const env = withRuntime({ api });

    async function send(msg, smsOverrides = {}, expected = 1) {
      await env.load(smsOverrides);
      const result = collect(expected);
      helper.getNode('sms').receive(msg);
      const { outputs, errors } = await result;
      errors.should.be.empty();
      return outputs;
    }

    describe('msg.payload forms', function () {
      const forms = [
        ['a Buffer', () => Buffer.from([0x54, 0x65, 0x73, 0x74]), '54 65 73 74'],
        ['a Uint8Array', () => new Uint8Array([0x0f, 0xc2]), '0f c2'],
        ['a Uint8Array from another realm', () => vm.runInNewContext('new Uint8Array([0xbe, 0xef])'), 'be ef'],
        ['an array of integers', () => [1, 2, 254], '01 02 fe'],
        ['upper-case hex without separators', () => '0FC24ABF', '0f c2 4a bf'],
        ['hex with 0x and colons', () => '0x0f:c2:4a', '0f c2 4a'],
        ['hex with newlines and dashes', () => '0f-c2\n4a-bf', '0f c2 4a bf'],
      ];
      for (const [name, payload, hex] of forms) {
        it(`sends ${name} as space-separated lower-case hex`, async function () {
          await send({ payload: payload() });
          env.server.requests.should.have.length(1);
          sentMessage(env.server.requests[0]).binary.hex.should.equal(hex);
        });
      }

      it('sends a Uint8Array built in a real Function node', async function () {
        const flow = smsFlow(env.server.baseUrl, {}, { api });
        flow.push({
          id: 'fn',
          type: 'function',
          z: 'tab1',
          func: 'msg.payload = new Uint8Array([0x01, 0xa0, 0xff]); return msg;',
          outputs: 1,
          wires: [['sms']],
        });
        await helper.load([infobipAccount, binarySms, catchNode, functionNode], flow, CREDENTIALS);
        const result = collect(1);
        helper.getNode('fn').receive({ payload: 'x' });
        const { outputs, errors } = await result;
        errors.should.be.empty();
        outputs.should.have.length(1);
        sentMessage(env.server.requests[0]).binary.hex.should.equal('01 a0 ff');
      });
    });

    describe('request body and headers', function () {
      it('posts JSON with the App API key and the node settings', async function () {
        await send({ payload: 'ab' }, { from: 'InfoSMS', dataCoding: '8', esmClass: '64' });
        const record = env.server.requests[0];
        const { headers, url, method } = record;
        method.should.equal('POST');
        url.should.equal(env.sendPath);
        headers.authorization.should.equal(`App ${API_KEY}`);
        headers['content-type'].should.match(/^application\/json/);
        headers.accept.should.match(/application\/json/);
        sentMessage(record).should.eql({
          from: 'InfoSMS',
          to: ['41793026727'],
          binary: { hex: 'ab', dataCoding: 8, esmClass: 64 },
        });
      });
      it('accepts msg.to as a whole number, as it accepts one inside an array', async function () {
        await send({ payload: 'ab', to: 41793026834 });
        sentMessage(env.server.requests[0]).to.should.eql(['41793026834']);
      });
      it('lets msg.to, msg.from, msg.dataCoding and msg.esmClass override the node', async function () {
        await send(
          { payload: 'ab', to: ['+44 7911 123456', '4915112345678'], from: '4412345', dataCoding: 4, esmClass: 0 },
          { from: 'InfoSMS', dataCoding: '8', esmClass: '64' },
          2,
        );
        sentMessage(env.server.requests[0]).should.eql({
          from: '4412345',
          to: ['447911123456', '4915112345678'],
          binary: { hex: 'ab', dataCoding: 4, esmClass: 0 },
        });
      });
      it('signs in with username and password when the account says so', async function () {
        await env.load({}, { authType: 'basic' }, { acc1: { username: 'demo', password: 'demo-password' } });
        const result = collect(1);
        helper.getNode('sms').receive({ payload: 'ab' });
        const { outputs, errors } = await result;
        errors.should.be.empty();
        outputs.should.have.length(1);
        env.server.requests[0].headers.authorization.should.equal(
          'Basic ' + Buffer.from('demo:demo-password').toString('base64'),
        );
      });
      it('accepts a per-account base URL with a trailing slash', async function () {
        await send({ payload: 'ab' }, {});
        await helper.unload();
        await env.load({}, {}, CREDENTIALS, env.server.baseUrl + '/');
        const result = collect(1);
        helper.getNode('sms').receive({ payload: 'cd' });
        (await result).outputs.should.have.length(1);
        env.server.requests[1].url.should.equal(env.sendPath);
      });
    });

    describe('outputs', function () {
      it('emits one message per destination, in the API order, carrying its result untouched', async function () {
        const input = { payload: 'ab', to: '41793026727, 41793026834', topic: 'meter-7' };
        const outputs = await send(input, {}, 2);
        outputs.should.have.length(2);
        env.server.requests.should.have.length(1);
        outputs.forEach((msg, index) => {
          msg.topic.should.equal('meter-7');
          msg.payload.should.eql(env.server.requests[0].answer.messages[index]);
          msg.payload.status.should.have.properties({ groupName: 'PENDING', name: 'PENDING_ACCEPTED' });
          msg.to.should.equal(numberIn(msg.payload));
          msg.messageId.should.equal(msg.payload.messageId);
          msg.statusCode.should.equal(200);
          msg.bulkId.should.be.a.String();
          msg.parts.should.eql({ id: outputs[0].parts.id, index, count: 2, type: 'array' });
        });
        outputs.map((msg) => msg.to).should.eql(['41793026727', '41793026834']);
        outputs[0].bulkId.should.equal(outputs[1].bulkId);
        outputs[0].messageId.should.not.equal(outputs[1].messageId);
      });
      it("msg.bulkId is the answer's: none when it gives none (v1, one destination), never a stale one", async function () {
        const [msg] = await send({ payload: 'ab', bulkId: 'stale' });
        should(msg.bulkId).equal(env.server.requests[0].answer.bulkId);
        msg.parts.should.have.properties({ index: 0, count: 1 });
      });
      it('keeps an existing msg.parts as msg.parts.parts', async function () {
        const outer = { id: 'outer', index: 3, count: 5, type: 'array' };
        const outputs = await send({ payload: 'ab', to: ['41793026727', '41793026834'], parts: outer }, {}, 2);
        outputs.forEach((msg) => msg.parts.parts.should.eql(outer));
      });
      it('outputs rejected destinations too, with the status Infobip gave them', async function () {
        const outputs = await send({ payload: 'ab', to: ['41793026727', '99912345678'] }, {}, 2);
        outputs[1].payload.status.should.have.properties({ groupName: 'REJECTED', name: 'REJECTED_DESTINATION' });
        outputs[1].to.should.equal('99912345678');
      });
      it("counts destinations Infobip rejected as rejected in the sidebar's counters, not as sent", async function () {
        await env.load();
        const result = collect(9);
        for (let i = 0; i < 3; i++) {
          helper.getNode('sms').receive({ payload: 'ab', to: ['41793026727', '99912345678', '41793026834'] });
        }
        const { outputs, errors } = await result;
        errors.should.be.empty();
        outputs.should.have.length(9);
        const { total } = helper.getNode('acc1').account.stats.picture('acc1', 'test', {});
        total.should.have.properties({ sent: 6, rejected: 3 });
        total.should.not.have.property('failed');
      });
      it('lets a Join node in automatic mode rebuild the list of results', async function () {
        const flow = smsFlow(env.server.baseUrl, { wires: [['joiner']] }, { api });
        flow.push({ id: 'joiner', type: 'join', z: 'tab1', mode: 'auto', wires: [['out']] });
        await helper.load([infobipAccount, binarySms, catchNode, joinNode], flow, CREDENTIALS);
        const result = collect(1, 200);
        helper.getNode('sms').receive({ payload: 'ab', to: ['41793026727', '99912345678', '41793026834'] });
        const { outputs, errors } = await result;
        errors.should.be.empty();
        outputs.should.have.length(1);
        outputs[0].payload.map(numberIn).should.eql(['41793026727', '99912345678', '41793026834']);
        outputs[0].payload[1].status.groupName.should.equal('REJECTED');
      });
      it('shows sending, then the count sent, in the node status', async function () {
        await send({ payload: 'ab', to: ['41793026727', '41793026834'] }, {}, 2);
        const statuses = statusesOf('sms');
        statuses[0].should.have.properties({ fill: 'blue', text: 'sending (1)' });
        statuses[statuses.length - 1].should.have.properties({ fill: 'green', shape: 'dot', text: 'sent 2' });
      });
      it('shows the byte count when a payload needs more than one SMS (over 140 bytes)', async function () {
        const [msg] = await send({ payload: Buffer.alloc(300, 0x0f) });
        partsIn(msg.payload).should.equal(3);
        await new Promise((resolve) => setTimeout(resolve, 300));
        lastStatusOf('sms').should.have.properties({
          fill: 'green',
          text: 'sent 1; last payload 300 bytes: more than one SMS',
        });
      });
      it('140 bytes fit one SMS: the plain count', async function () {
        await send({ payload: Buffer.alloc(140, 0x0f) });
        await new Promise((resolve) => setTimeout(resolve, 300));
        lastStatusOf('sms').text.should.equal('sent 1');
      });
    });
  });
