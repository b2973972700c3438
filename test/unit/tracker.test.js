'use strict';
// The account's memory of sent messages, over a context store, with fake timers.
const should = require('should');
const FakeTimers = require('@sinonjs/fake-timers');
const { Tracker } = require('../../dist/lib/track/tracker');
const { ReportMessages, SEEN_LIMIT, watchOverdue } = require('../../dist/lib/receive/reports');
const { InboundMessages } = require('../../dist/lib/receive/inbound');

const HOUR = 3600_000;

/** A context store in memory, as Node-RED's memory store behaves (returns its own objects); can be told to fail. */
function memoryContext() {
  const data = new Map();
  const context = {
    data,
    failing: false,
    get(key, _store, callback) {
      if (context.failing) callback(new Error('store offline'));
      else callback(null, data.get(key));
    },
    set(key, value, _store, callback) {
      if (context.failing) return callback(new Error('store offline'));
      if (value === undefined) data.delete(key);
      else data.set(key, value);
      callback(null);
    },
    keys(_store, callback) {
      callback(null, [...data.keys()]);
    },
  };
  return context;
}

const entry = (messageId, at = Date.now()) => ({ messageId, to: '41793026727', sent: { topic: messageId }, at });

describe('Tracker (fake timers)', function () {
  let clock;
  let warnings;
  beforeEach(() => {
    clock = FakeTimers.install({
      now: Date.UTC(2026, 10, 29),
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
    });
    warnings = [];
  });
  afterEach(() => clock.uninstall());

  const tracker = (context, limit = 100, owner = 'me') =>
    new Tracker(context, undefined, { limit, owner, warn: (text) => warnings.push(text) });

  it('finds a message for 48 hours, then forgets it in memory and in the store', async function () {
    const context = memoryContext();
    const subject = tracker(context);
    await subject.ready;
    subject.track(entry('a'));
    await clock.tickAsync(47 * HOUR);
    (await subject.lookup('a')).sent.should.eql({ topic: 'a' });
    await clock.tickAsync(2 * HOUR);
    should(await subject.lookup('a')).be.undefined();
    subject.size.should.equal(0);
    context.data.size.should.equal(0);
  });

  it('keeps at most Track messages, dropping the oldest from the store too', async function () {
    const context = memoryContext();
    const subject = tracker(context, 3);
    await subject.ready;
    for (const id of ['a', 'b', 'c', 'd', 'e']) subject.track(entry(id));
    subject.size.should.equal(3);
    context.data.size.should.equal(3);
    should(await subject.lookup('a')).be.undefined();
    should(await subject.lookup('e')).not.be.undefined();
  });

  it('overdue: a message with no report is reported once; one older than 48 h leaves the store', async function () {
    const context = memoryContext();
    const subject = tracker(context);
    await subject.ready;
    subject.track(entry('a'));
    await clock.tickAsync(HOUR);
    subject.track(entry('b'));
    const due = await subject.takeOverdue(Date.now() - 30 * 60_000);
    due.map((item) => item.messageId).should.eql(['a']);
    (await subject.takeOverdue(Date.now() - 30 * 60_000)).should.be.empty();
    await clock.tickAsync(48 * HOUR);
    (await subject.takeOverdue(Date.now())).should.be.empty();
    context.data.size.should.equal(0);
    subject.size.should.equal(0);
  });

  it('an overdue check reads only what may be due: never the messages already reported', async function () {
    const context = memoryContext();
    const subject = tracker(context, 1000);
    await subject.ready;
    for (let i = 0; i < 1000; i++) subject.track(entry(`m${i}`));
    for (let i = 0; i < 999; i++) await subject.markReported(`m${i}`);
    await clock.tickAsync(2 * HOUR);
    let reads = 0;
    const get = context.get;
    context.get = (...args) => {
      reads++;
      return get(...args);
    };
    (await subject.takeOverdue(Date.now() - HOUR)).map((item) => item.messageId).should.eql(['m999']);
    reads.should.equal(1);
    (await subject.takeOverdue(Date.now() - HOUR)).should.be.empty();
    reads.should.equal(1);
  });

  it('overdue checks never overlap: the next is armed when the last has finished', async function () {
    let running = 0;
    let most = 0;
    let checks = 0;
    const slow = {
      takeOverdue: () => {
        checks++;
        running++;
        most = Math.max(most, running);
        return new Promise((resolve) =>
          setTimeout(() => {
            running--;
            resolve([]);
          }, 5000),
        );
      },
    };
    // Every second, while each check takes 5 s.
    const stop = watchOverdue(
      slow,
      10_000,
      () => undefined,
      () => undefined,
    );
    await clock.tickAsync(20_000);
    stop();
    most.should.equal(1);
    checks.should.equal(4);
  });

  it('a store that fails is said once, and the entry is kept and asked for again', async function () {
    const context = memoryContext();
    const subject = tracker(context);
    await subject.ready;
    subject.track(entry('a'));
    context.failing = true;
    should(await subject.lookup('a')).be.undefined();
    (await subject.takeOverdue(Date.now())).should.be.empty();
    warnings.should.eql(['store offline']);
    subject.size.should.equal(1);
    context.failing = false;
    (await subject.takeOverdue(Date.now())).map((item) => item.messageId).should.eql(['a']);
  });

  it('a store that throws fails like one that calls back with an error: sends go on, replies are still emitted', async function () {
    const throwing = {
      get: () => {
        throw new Error('store broken');
      },
      set: () => {
        throw new Error('store broken');
      },
      keys: () => {
        throw new Error('store broken');
      },
    };
    const subject = new Tracker(throwing, undefined, {
      limit: 10,
      owner: 'me',
      by: 'number',
      warn: (text) => warnings.push(text),
    });
    await subject.ready;
    subject.track(entry('a'));
    const emitted = [];
    await new InboundMessages(subject, HOUR, (msg) => emitted.push(msg)).emit([
      { messageId: 'in-1', from: '41793026727', text: 'OK' },
    ]);
    emitted.map((msg) => [msg.payload, msg.sent]).should.eql([['OK', undefined]]);
    warnings.should.eql(['store broken']);
  });

  it('hands out a copy of what was sent: a change downstream does not alter the memory', async function () {
    const context = memoryContext();
    const subject = tracker(context);
    await subject.ready;
    subject.track(entry('a'));
    const first = await subject.lookup('a');
    first.sent.topic = 'changed';
    (await subject.lookup('a')).sent.topic.should.equal('a');
  });

  describe('by number (for replies)', function () {
    const byNumber = (context, limit = 100, owner = 'me') =>
      new Tracker(context, undefined, { limit, owner, by: 'number', warn: (text) => warnings.push(text) });
    const sentTo = (to, topic, at = Date.now()) => ({ messageId: `id-${topic}`, to, sent: { topic }, at });

    it('keeps the last message per number, found by its digits whatever the spelling', async function () {
      const subject = byNumber(memoryContext());
      await subject.ready;
      subject.track(sentTo('41793026727', 'first'));
      subject.track(sentTo('+41 79 302 67 27', 'second'));
      subject.size.should.equal(1);
      (await subject.lookup('41793026727')).sent.topic.should.equal('second');
    });
    it('at the Track limit, the number sent to least recently leaves first, in memory and in the store', async function () {
      const context = memoryContext();
      const subject = byNumber(context, 2);
      await subject.ready;
      subject.track(sentTo('41700000001', 'a'));
      subject.track(sentTo('41700000002', 'b'));
      subject.track(sentTo('41700000001', 'a again'));
      subject.track(sentTo('41700000003', 'c'));
      should(await subject.lookup('41700000002')).be.undefined();
      (await subject.lookup('41700000001')).sent.topic.should.equal('a again');
      context.data.size.should.equal(2);
    });
    it('a number sent to while the store loads after a restart keeps its new entry, also at the Track limit', async function () {
      const context = memoryContext();
      const before = byNumber(context, 2);
      await before.ready;
      before.track(sentTo('41700000001', 'old', Date.now() - 2 * HOUR));
      before.track(sentTo('41700000002', 'other', Date.now() - HOUR));
      const restarted = byNumber(context, 1);
      // Sent before the store has loaded: the loaded entries are older and make room.
      restarted.track(sentTo('41700000001', 'new'));
      await restarted.ready;
      (await restarted.lookup('41700000001')).sent.topic.should.equal('new');
      should(await restarted.lookup('41700000002')).be.undefined();
      restarted.size.should.equal(1);
    });
    it("reads numbers tracked before 0.3.0 under their base64url key: its own moved to the digits, another instance's found where it is", async function () {
      const context = memoryContext();
      const oldKey = (digits) => 'to_' + Buffer.from(digits).toString('base64url');
      context.data.set(oldKey('41700000001'), { ...sentTo('41700000001', 'mine'), owner: 'me' });
      context.data.set(oldKey('41700000002'), { ...sentTo('41700000002', 'theirs'), owner: 'other' });
      const subject = byNumber(context);
      await subject.ready;
      (await subject.lookup('41700000001')).sent.topic.should.equal('mine');
      context.data.has(oldKey('41700000001')).should.be.false();
      context.data.has('to_41700000001').should.be.true();
      (await subject.lookup('41700000002')).sent.topic.should.equal('theirs');
    });
    it('keeps a fan-out to 10,000 numbers lean: each number costs at most 350 bytes of heap (a spread copy cost over 500)', async function () {
      const v8 = require('node:v8');
      const vm = require('node:vm');
      v8.setFlagsFromString('--expose-gc');
      const gc = vm.runInNewContext('gc');
      const heap = () => {
        gc();
        gc();
        return process.memoryUsage().heapUsed;
      };
      const numbers = Array.from({ length: 10000 }, (_, i) => String(41790000000 + i));
      const ids = numbers.map((to) => `00000000-0000-4000-8000-${to.padStart(12, '0')}`);
      const sent = { topic: 'fan-out' };
      const subject = byNumber(memoryContext(), 10000);
      await subject.ready;
      const before = heap();
      numbers.forEach((to, i) => subject.track({ messageId: ids[i], to, sent, shared: 'ids', at: Date.now() }));
      const perNumber = (heap() - before) / numbers.length;
      perNumber.should.be.below(350);
      subject.size.should.equal(10000);
    });
    it('shares a store with tracking by message id without either loading or dropping the other', async function () {
      const context = memoryContext();
      const messages = tracker(context);
      const numbers = byNumber(context);
      await Promise.all([messages.ready, numbers.ready]);
      messages.track(entry('m1'));
      numbers.track(sentTo('41793026727', 'n1'));
      await clock.tickAsync(HOUR);
      const restartedNumbers = byNumber(context);
      const restartedMessages = tracker(context);
      await Promise.all([restartedNumbers.ready, restartedMessages.ready]);
      restartedNumbers.size.should.equal(1);
      restartedMessages.size.should.equal(1);
      (await restartedNumbers.lookup('41793026727')).sent.topic.should.equal('n1');
      (await restartedMessages.lookup('m1')).sent.topic.should.equal('m1');
      await clock.tickAsync(48 * HOUR);
      should(await restartedNumbers.lookup('41793026727')).be.undefined();
      context.data.size.should.equal(1);
    });
  });

  it('after a restart on a shared store, an instance takes back only its own entries', async function () {
    const context = memoryContext();
    const mine = tracker(context, 100, 'me');
    const theirs = tracker(context, 100, 'them');
    await Promise.all([mine.ready, theirs.ready]);
    mine.track(entry('mine'));
    theirs.track(entry('theirs'));
    const restarted = tracker(context, 100, 'me');
    await restarted.ready;
    restarted.size.should.equal(1);
    await clock.tickAsync(HOUR);
    (await restarted.takeOverdue(Date.now())).map((item) => item.messageId).should.eql(['mine']);
    // It still finds the other's message for its reports.
    (await restarted.lookup('theirs')).sent.topic.should.equal('theirs');
  });
});

describe('Tracker: scheduled messages (fake timers)', function () {
  let clock;
  beforeEach(() => {
    clock = FakeTimers.install({ now: Date.UTC(2026, 10, 29), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => clock.uninstall());
  const make = (context) => new Tracker(context, undefined, { limit: 100, owner: 'me', warn: () => undefined });

  it('is due from its scheduled time, found by its bulk, and keeps both across a restart', async function () {
    const context = memoryContext();
    const first = make(context);
    await first.ready;
    const scheduledAt = Date.now() + 3 * HOUR;
    first.track({ ...entry('s1'), bulkId: 'b1', scheduledAt });
    first.track(entry('plain'));
    const restarted = make(context);
    await restarted.ready;
    (await restarted.bulk('b1')).map((found) => found.messageId).should.eql(['s1']);
    clock.tick(2 * HOUR);
    // An hour after being handed over, only the unscheduled one is overdue.
    (await restarted.takeOverdue(Date.now() - HOUR)).map((due) => due.messageId).should.eql(['plain']);
    clock.tick(2 * HOUR);
    (await restarted.takeOverdue(Date.now() - HOUR)).map((due) => due.messageId).should.eql(['s1']);
  });

  it('moved: due from its new time; paused: never due, also when moved meanwhile', async function () {
    const tracker = make(memoryContext());
    await tracker.ready;
    tracker.track({ ...entry('m'), bulkId: 'b', scheduledAt: Date.now() + HOUR });
    tracker.track({ ...entry('p'), bulkId: 'b', scheduledAt: Date.now() + HOUR });
    await tracker.reschedule('m', { scheduledAt: Date.now() + 5 * HOUR });
    await tracker.reschedule('p', { paused: true });
    await tracker.reschedule('p', { scheduledAt: Date.now() + 2 * HOUR });
    clock.tick(3 * HOUR);
    (await tracker.takeOverdue(Date.now() - 30 * 60_000)).should.be.empty();
    clock.tick(3 * HOUR);
    (await tracker.takeOverdue(Date.now() - 30 * 60_000)).map((due) => due.messageId).should.eql(['m']);
  });

  it('a message scheduled beyond 48 hours stays tracked until 48 hours after its time', async function () {
    const tracker = make(memoryContext());
    await tracker.ready;
    tracker.track({ ...entry('far'), scheduledAt: Date.now() + 72 * HOUR });
    clock.tick(100 * HOUR);
    should.exist(await tracker.lookup('far'));
    clock.tick(21 * HOUR);
    should.not.exist(await tracker.lookup('far'));
  });
});

describe('ReportMessages', function () {
  const report = (messageId, name = 'DELIVERED_TO_HANDSET') => ({
    messageId,
    to: '41793026727',
    status: { groupName: 'DELIVERED', name },
  });

  it('emits a report seen again once, however small Track is', async function () {
    const subject = tracker();
    function tracker() {
      return new Tracker(memoryContext(), undefined, { limit: 100, owner: 'me', warn: () => undefined });
    }
    const emitted = [];
    const messages = new ReportMessages(subject, (msg) => emitted.push(msg));
    const page = Array.from({ length: 1000 }, (_, i) => report(`m${i}`));
    await messages.emit(page);
    await messages.emit(page);
    emitted.should.have.length(1000);
    messages.count.should.equal(1000);
    SEEN_LIMIT.should.be.aboveOrEqual(100_000);
  });

  it('a split message of 20 parts reported one part at a time: the parts are read once, when the last has its report, and it is emitted whole once', async function () {
    const context = memoryContext();
    let reads = 0;
    const get = context.get;
    context.get = (key, store, callback) => {
      reads++;
      get(key, store, callback);
    };
    const subject = new Tracker(context, undefined, { limit: 100, owner: 'me', warn: () => undefined });
    const count = 20;
    const ids = Array.from({ length: count }, (_, i) => (i === 0 ? 'long' : `long.${i + 1}`));
    ids.forEach((messageId, i) => subject.track({ ...entry(messageId), part: { index: i + 1, count, first: 'long' } }));
    const emitted = [];
    const messages = new ReportMessages(subject, (msg) => emitted.push(msg), true, 'whole');
    reads = 0;
    // Out of order, as handsets and Infobip may report them.
    for (const messageId of [...ids.slice(1), ids[0]]) await messages.emit([report(messageId)]);
    emitted.should.have.length(1);
    emitted[0].messageId.should.equal('long');
    emitted[0].partReports.should.have.length(count);
    // Per part report: its lookup, its own entry, the first part's note, and all the parts once at the end: linear, not count².
    reads.should.be.belowOrEqual(6 * count);
  });

  it("two parts' reports noted at once (a push and a poll) are both counted", async function () {
    const subject = new Tracker(memoryContext(), undefined, { limit: 100, owner: 'me', warn: () => undefined });
    ['both', 'both.2', 'both.3'].forEach((messageId, i) =>
      subject.track({ ...entry(messageId), part: { index: i + 1, count: 3, first: 'both' } }),
    );
    await subject.partsReported('both', 1, 3);
    const counts = await Promise.all([subject.partsReported('both', 2, 3), subject.partsReported('both', 3, 3)]);
    counts.should.eql([2, 3]);
  });

  it('a split message whose first part holds no note yet (tracked by an older version) learns it from its parts', async function () {
    const subject = new Tracker(memoryContext(), undefined, { limit: 100, owner: 'me', warn: () => undefined });
    const ids = ['old', 'old.2', 'old.3'];
    ids.forEach((messageId, i) =>
      subject.track({ ...entry(messageId), part: { index: i + 1, count: 3, first: 'old' } }),
    );
    // Part 2 was reported before the upgrade: its report is in its entry, no note on the first part.
    await subject.markReported('old.2', report('old.2'));
    const emitted = [];
    const messages = new ReportMessages(subject, (msg) => emitted.push(msg), true, 'whole');
    await messages.emit([report('old.3')]);
    emitted.should.have.length(0);
    await messages.emit([report('old')]);
    emitted.should.have.length(1);
  });

  it('a new status of the same message is a new report', async function () {
    const subject = new Tracker(memoryContext(), undefined, { limit: 100, owner: 'me', warn: () => undefined });
    const emitted = [];
    const messages = new ReportMessages(subject, (msg) => emitted.push(msg));
    await messages.emit([report('a', 'DELIVERED_TO_OPERATOR'), report('a', 'DELIVERED_TO_HANDSET')]);
    emitted.should.have.length(2);
  });
});

describe('ReportMessages of a message sent once more (fake timers)', function () {
  let clock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => clock.uninstall());

  const status = (groupName, name) => ({ groupName, name });
  const report = (messageId, groupName, name = `${groupName}_X`) => ({
    messageId,
    to: '41793026727',
    status: status(groupName, name),
  });
  const HOLD = 60_000;

  async function subject(resent = true) {
    const tracker = new Tracker(memoryContext(), undefined, { limit: 100, owner: 'me', warn: () => undefined });
    tracker.track(entry('m1'));
    if (resent) await tracker.markResent('m1');
    const emitted = [];
    const messages = new ReportMessages(tracker, (msg) => emitted.push(msg), true, 'each', undefined, undefined, HOLD);
    return { tracker, emitted, messages };
  }

  it('a REJECTED report (the repeat) that comes first is dropped when the original is reported', async function () {
    const { emitted, messages } = await subject();
    await messages.emit([report('m1', 'REJECTED')]);
    emitted.should.be.empty();
    await clock.tickAsync(HOLD / 2);
    await messages.emit([report('m1', 'DELIVERED')]);
    await clock.tickAsync(HOLD);
    emitted.map((msg) => msg.payload.status.groupName).should.eql(['DELIVERED']);
    emitted[0].sent.topic.should.equal('m1');
  });

  it('a REJECTED report after the original was reported is dropped at once', async function () {
    const { emitted, messages } = await subject();
    await messages.emit([report('m1', 'DELIVERED')]);
    await messages.emit([report('m1', 'REJECTED')]);
    await clock.tickAsync(HOLD * 2);
    emitted.map((msg) => msg.payload.status.groupName).should.eql(['DELIVERED']);
  });

  it('the original reported before the message was sent again: the REJECTED report of the repeat is dropped', async function () {
    const { tracker, emitted, messages } = await subject(false);
    await messages.emit([report('m1', 'DELIVERED')]);
    await tracker.markResent('m1');
    await messages.emit([report('m1', 'REJECTED')]);
    await clock.tickAsync(HOLD * 2);
    emitted.map((msg) => msg.payload.status.groupName).should.eql(['DELIVERED']);
  });

  it('a REJECTED report with no other one in its time is emitted then, and never overdue meanwhile', async function () {
    const { tracker, emitted, messages } = await subject();
    await messages.emit([report('m1', 'REJECTED')]);
    await clock.tickAsync(HOLD - 1);
    emitted.should.be.empty();
    (await tracker.takeOverdue(Date.now() + 1)).should.be.empty();
    await clock.tickAsync(2);
    emitted.map((msg) => msg.payload.status.groupName).should.eql(['REJECTED']);
  });

  it('closing emits what is held, unless the original was reported', async function () {
    const { emitted, messages } = await subject();
    await messages.emit([report('m1', 'REJECTED')]);
    await messages.stop();
    emitted.map((msg) => msg.payload.status.groupName).should.eql(['REJECTED']);
  });

  it('a message not sent again: its REJECTED report is emitted at once', async function () {
    const { emitted, messages } = await subject(false);
    await messages.emit([report('m1', 'REJECTED')]);
    emitted.map((msg) => msg.payload.status.groupName).should.eql(['REJECTED']);
  });
});
