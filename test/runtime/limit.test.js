'use strict';
// The account's daily limit: SMS parts in any 24 hours, refused whole before sending, in a real
// Node-RED against the stand-in. Each test has an account of its own (the count outlives deploys).
require('should');
const crypto = require('node:crypto');
const {
  helper,
  binarySms,
  infobipAccount,
  catchNode,
  smsFlow,
  collect,
  withRuntime,
  API_KEY,
  passesCode,
  lastStatusOf,
} = require('../support/runtime');

describe('the daily limit', function () {
  this.timeout(20000);
  const env = withRuntime({ api: 'v3' });
  let accountId;

  /** smsFlow with an account of this test's own, limited to `dailyLimit` parts. */
  function limitedFlow(dailyLimit, smsOverrides = {}) {
    return smsFlow(env.server.baseUrl, smsOverrides, { api: 'v3', dailyLimit }).map((node) =>
      node.id === 'acc1'
        ? { ...node, id: accountId }
        : node.account === 'acc1'
          ? { ...node, account: accountId }
          : node,
    );
  }
  async function load(dailyLimit, smsOverrides = {}) {
    await helper.load([infobipAccount, binarySms, catchNode], limitedFlow(dailyLimit, smsOverrides), {
      [accountId]: { apiKey: API_KEY },
    });
  }
  /** Sends `msg` and waits for its one outcome. */
  async function send(msg) {
    const result = collect(1, 50);
    helper.getNode('sms').receive(msg);
    const { outputs, errors } = await result;
    return errors[0] ?? outputs[0];
  }
  const sends = () => env.server.requests.length;

  beforeEach(() => {
    accountId = `limited-${crypto.randomUUID()}`;
  });

  it('admits messages up to the limit; the one that would cross it is refused with code limit, nothing sent', async function () {
    await load(3);
    for (let i = 0; i < 3; i++) (await send({ payload: 'ab' })).should.not.have.property('error');
    const refused = await send({ payload: 'ab', topic: 'fourth' });
    refused.topic.should.equal('fourth');
    refused.error.message.should.match(
      /Daily limit of 3 SMS parts reached: 3 were sent in the last 24 hours and this message needs 1; room frees up at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 24 h [01] min\)\. Nothing was sent/,
    );
    if (passesCode) refused.error.code.should.equal('limit');
    sends().should.equal(3);
    lastStatusOf('sms').should.eql({ fill: 'yellow', shape: 'ring', text: 'daily limit: 3 of 3 used' });
    await send({ payload: 'ab' });
    // One warning per crossing, not one per refused message.
    const warnings = helper.getNode(accountId).warn.args.filter(([text]) => /Daily limit reached/.test(text));
    warnings.should.have.length(1);
  });

  it('a fan-out counts every destination: one that would cross the limit is refused whole', async function () {
    await load(5);
    (await send({ payload: 'ab', to: ['41793026727', '41793026834', '41793026999'] })).should.not.have.property(
      'error',
    );
    const refused = await send({ payload: 'ab', to: ['41793026727', '41793026834', '41793026999'] });
    refused.error.message.should.match(/3 were sent in the last 24 hours and this message needs 3/);
    sends().should.equal(1);
    // Exactly the limit: two more fit.
    (await send({ payload: 'ab', to: ['41793026727', '41793026834'] })).should.not.have.property('error');
    sends().should.equal(2);
  });

  it('a split payload counts every part, per destination', async function () {
    await load(4, { longPayload: 'split', dataCoding: '4' });
    const long = Buffer.alloc(200, 7);
    (await send({ payload: long, to: ['41793026727', '41793026834'] })).should.not.have.property('error');
    const refused = await send({ payload: 'ab' });
    refused.error.message.should.match(/4 were sent in the last 24 hours and this message needs 1/);
    env.server.requests.flatMap((record) => record.body.messages).should.have.length(2);
  });

  it('a message that needs more parts than the limit can never be sent, and says so', async function () {
    await load(2, { longPayload: 'split', dataCoding: '4' });
    const refused = await send({ payload: Buffer.alloc(400, 7) });
    refused.error.message.should.match(/needs 3 SMS parts, more than the account's daily limit of 2/);
    sends().should.equal(0);
  });

  it('a request that provably sent nothing gives its parts back', async function () {
    await load(2);
    env.server.plan({ status: 401, body: { errorCode: 'E401', description: 'Invalid login details' } });
    (await send({ payload: 'ab' })).error.message.should.match(/401/);
    (await send({ payload: 'ab' })).should.not.have.property('error');
    (await send({ payload: 'ab' })).should.not.have.property('error');
    (await send({ payload: 'ab' })).error.message.should.match(/Daily limit of 2/);
  });

  it('the count survives a full deploy', async function () {
    await load(2);
    await send({ payload: 'ab' });
    await send({ payload: 'ab' });
    await helper.setFlows(limitedFlow(2, { name: 'redeployed' }), 'full', { [accountId]: { apiKey: API_KEY } });
    (await send({ payload: 'ab' })).error.message.should.match(/Daily limit of 2 SMS parts reached: 2 were sent/);
    sends().should.equal(2);
  });
});
