'use strict';
// What a receiving node keeps while it closes, and sends when its next self has started.
require('should');
const { HeldOutputs } = require('../../dist/lib/receive/held');

/** A node context in memory (one per store name), as a configured store keeps it across restarts. */
function memoryContext() {
  const data = new Map();
  return {
    data,
    get: (key, store, callback) => callback(null, data.get(`${store}:${key}`)),
    set: (key, value, store, callback) => {
      if (value === undefined) data.delete(`${store}:${key}`);
      else data.set(`${store}:${key}`, value);
      callback(null);
    },
  };
}

describe('HeldOutputs', function () {
  let nodeId = 0;
  const make = (context, sent, warnings = []) =>
    new HeldOutputs(
      `node-${nodeId}`,
      context,
      'file',
      (output) => sent.push(output),
      (detail) => warnings.push(detail),
    );
  beforeEach(() => nodeId++);

  it('sends at once while open; while closing keeps, and the next self sends once the flows have started', async function () {
    const context = memoryContext();
    const sent = [];
    const first = make(context, sent);
    first.send({ payload: 'before' });
    first.startClosing();
    first.isClosing.should.be.true();
    first.send({ payload: 'while closing' });
    await first.finishClosing(false);
    sent.map((msg) => msg.payload).should.eql(['before']);
    context.data.size.should.equal(1);

    const nextSent = [];
    let started;
    const resumed = make(context, nextSent).resume(new Promise((resolve) => (started = resolve)));
    await new Promise((resolve) => setImmediate(resolve));
    nextSent.should.be.empty();
    started();
    await resumed;
    nextSent.map((msg) => msg.payload).should.eql(['while closing']);
    context.data.size.should.equal(0);
  });

  it('a node that is removed sends what it kept at once: nothing follows it', async function () {
    const sent = [];
    const held = make(memoryContext(), sent);
    held.startClosing();
    held.send([{ payload: 'report' }, null]);
    await held.finishClosing(true);
    sent.should.eql([[{ payload: 'report' }, null]]);
  });

  it('closed again before the flows started: what it holds stays kept for the start after', async function () {
    const context = memoryContext();
    const first = make(context, []);
    first.startClosing();
    first.send({ payload: 'one' });
    await first.finishClosing(false);

    const sentBySecond = [];
    const second = make(context, sentBySecond);
    const resumed = second.resume(Promise.resolve());
    second.startClosing();
    await resumed;
    await second.finishClosing(false);
    sentBySecond.should.be.empty();

    const sentByThird = [];
    await make(context, sentByThird).resume(Promise.resolve());
    sentByThird.map((msg) => msg.payload).should.eql(['one']);
  });

  it('a store that fails is said, and nothing is sent twice', async function () {
    const failing = {
      get: (_key, _store, callback) => callback(new Error('store offline')),
      set: (_key, _value, _store, callback) => callback(new Error('store offline')),
    };
    const warnings = [];
    const sent = [];
    const held = make(failing, sent, warnings);
    held.startClosing();
    held.send({ payload: 'x' });
    await held.finishClosing(false);
    warnings.should.containEql('store offline');
    // Kept for the process all the same: the next self in this process still sends it, once.
    const next = [];
    await make(failing, next, []).resume(Promise.resolve());
    next.map((msg) => msg.payload).should.eql(['x']);
    sent.should.be.empty();
  });
});
