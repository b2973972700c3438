'use strict';
// Shared state: the claim, lease and fallback logic against a real redis-server the test starts,
// and the pipeline's and poller's use of a shared budget and turn with fake timers.
const should = require('should');
const FakeTimers = require('@sinonjs/fake-timers');
const { RedisServer } = require('../../dev/redis-server');
const { wait, until } = require('../../dev/wait');
const { SharedState, accountPrefix, failureName, redisUrlValid } = require('../../dist/lib/shared/redis');
const { SharedTracker } = require('../../dist/lib/track/shared-tracker');
const { sharedSightings } = require('../../dist/lib/shared/seen');
const { PollLease } = require('../../dist/lib/shared/lease');
const { SharedBudget, windowPoints } = require('../../dist/lib/shared/budget');
const { sharedReferences } = require('../../dist/lib/shared/references');
const { SharedMutex, SharedPermit } = require('../../dist/lib/shared/locks');
const { Tracker } = require('../../dist/lib/track/tracker');
const { processMemory } = require('../../dist/lib/track/process-memory');
const { Pipeline } = require('../../dist/lib/send/pipeline');
const { Poller, STANDBY_CHECK_MS } = require('../../dist/lib/receive/poller');
const { SendFailure } = require('../../dist/lib/errors');

describe('shared state', function () {
  describe('settings', function () {
    it('takes redis:// and rediss:// URLs only', function () {
      redisUrlValid('redis://127.0.0.1:6379').should.be.true();
      redisUrlValid('rediss://user:secret@redis.example:6380/2').should.be.true();
      redisUrlValid('http://127.0.0.1:6379').should.be.false();
      redisUrlValid('127.0.0.1:6379').should.be.false();
    });

    it("names an account's keys by a hash: never by its base URL or key, different for another key", function () {
      const prefix = accountPrefix('https://abc.api.infobip.com', 'secret-key-123');
      prefix.should.not.containEql('abc.api');
      prefix.should.not.containEql('secret-key');
      prefix.should.equal(accountPrefix('https://abc.api.infobip.com', 'secret-key-123'));
      prefix.should.not.equal(accountPrefix('https://abc.api.infobip.com', 'other-key'));
    });

    it('names a failure by its code, never by its text (which names the host)', function () {
      failureName(
        Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:6379'), { code: 'ECONNREFUSED' }),
      ).should.equal('ECONNREFUSED');
      failureName(new Error('WRONGPASS invalid username-password pair')).should.equal('WRONGPASS');
      failureName(new Error('something at redis.internal')).should.equal('error');
    });

    it('spreads the Rate limit over tenths of a second: each wall-clock second holds exactly the limit', function () {
      for (const rate of [100, 37, 5, 1000]) {
        const second = Array.from({ length: 10 }, (_, index) => windowPoints(rate, 10 * 1234 + index));
        second.reduce((sum, points) => sum + points, 0).should.equal(rate);
        Math.max(...second).should.be.belowOrEqual(Math.ceil(rate / 10));
      }
      const tenSeconds = Array.from({ length: 100 }, (_, index) => windowPoints(0.5, index));
      tenSeconds.reduce((sum, points) => sum + points, 0).should.equal(5);
    });
  });

  describe('with a real Redis', function () {
    this.timeout(20000);
    let redis;
    const states = [];
    const changes = [];
    const connect = async (prefix = 'infobip-binary-sms:test:') => {
      const state = new SharedState({
        url: redis.url,
        prefix,
        changed: (available, failure) => changes.push({ available, failure }),
      });
      states.push(state);
      await state.connected;
      return state;
    };
    let copies = 0;
    const tracker = (state, by = 'messageId') => {
      const own = new Tracker(processMemory(`shared-test-${++copies}`), undefined, {
        limit: 1000,
        owner: `copy${copies}`,
        by,
        warn: () => undefined,
        dropped: SharedTracker.dropped(state, by),
      });
      return new SharedTracker(state, own, by);
    };
    const entry = (messageId, at = Date.now() - 60_000) => ({
      messageId,
      to: '41793026727',
      sent: { topic: `sent ${messageId}` },
      at,
    });

    before(async function () {
      redis = await new RedisServer({ password: 'redis-secret-pw' }).start();
    });
    afterEach(async function () {
      await Promise.all(states.splice(0).map((state) => state.close()));
      changes.splice(0);
      if (!redis.child) await redis.start();
      const cleaner = await connect();
      await cleaner.client.flushall();
      await cleaner.close();
      states.splice(0);
    });
    after(() => redis.destroy());

    it('what one copy tracked, another finds (with msg.sent); a report through it means never overdue', async function () {
      const [a, b] = [tracker(await connect()), tracker(await connect())];
      a.track(entry('m1'));
      a.track(entry('m2'));
      await wait(50);
      const found = await b.lookup('m1');
      found.sent.topic.should.equal('sent m1');
      await b.markReported('m1');
      const due = await a.takeOverdue(Date.now());
      due.map((message) => message.messageId).should.eql(['m2']);
      (await b.takeOverdue(Date.now())).should.eql([]);
    });

    it('copies checking at the same moment: each overdue message is claimed by exactly one', async function () {
      const [a, b, c] = [tracker(await connect()), tracker(await connect()), tracker(await connect())];
      for (let i = 0; i < 60; i++) [a, b, c][i % 3].track(entry(`o${i}`));
      await wait(100);
      const results = await Promise.all([a, b, c].map((copy) => copy.takeOverdue(Date.now())));
      const ids = results.flat().map((message) => message.messageId);
      ids.should.have.length(60);
      new Set(ids).size.should.equal(60);
      (await Promise.all([a, b, c].map((copy) => copy.takeOverdue(Date.now())))).flat().should.eql([]);
    });

    it('a message not yet due stays in Redis for later; one forgotten is gone for every copy', async function () {
      const [a, b] = [tracker(await connect()), tracker(await connect())];
      a.track(entry('late', Date.now()));
      a.track(entry('gone'));
      await wait(50);
      a.forget('gone');
      await wait(50);
      (await b.takeOverdue(Date.now() - 30_000)).should.eql([]);
      should(await b.lookup('gone')).be.undefined();
      (await b.takeOverdue(Date.now() + 1)).map((message) => message.messageId).should.eql(['late']);
      // Forgotten by a copy that did not send it (its final report came there): gone for the others too.
      const c = tracker(await connect());
      a.track(entry('reported elsewhere'));
      await wait(50);
      b.forget('reported elsewhere');
      await wait(50);
      should(await c.lookup('reported elsewhere')).be.undefined();
    });

    it('a split message assembled by two copies at once is emitted by one: the status is recorded once', async function () {
      const [a, b] = [tracker(await connect()), tracker(await connect())];
      a.track({ ...entry('whole'), part: { index: 1, count: 2, first: 'whole' } });
      await wait(50);
      const answers = await Promise.all([a.setCombined('whole', 'DELIVERED'), b.setCombined('whole', 'DELIVERED')]);
      answers.filter(Boolean).should.have.length(1);
      (await b.setCombined('whole', 'UNDELIVERABLE')).should.be.true();
    });

    it("a split message's parts reported through different copies at once are counted for the cluster, each once", async function () {
      const [a, b] = [tracker(await connect()), tracker(await connect())];
      for (const [index, id] of ['split', 'split.2', 'split.3'].entries())
        a.track({ ...entry(id), part: { index: index + 1, count: 3, first: 'split' } });
      await wait(50);
      const counts = await Promise.all([a.partsReported('split', 2, 3), b.partsReported('split', 3, 3)]);
      // Told at once, either may already count the other's part: never fewer than its own, never more than two.
      for (const counted of counts) counted.should.be.within(1, 2);
      Math.max(...counts).should.equal(2);
      (await b.partsReported('split', 3, 3)).should.equal(2);
      (await a.partsReported('split', 1, 3)).should.equal(3);
    });

    it('tracking by number: the last message sent to a number, found by any copy', async function () {
      const [a, b] = [tracker(await connect(), 'number'), tracker(await connect(), 'number')];
      a.track({ ...entry('n1'), to: '+41 79 302 67 27' });
      // Two copies' writes at the same moment may land in either order: this one comes later.
      await wait(50);
      b.track({ ...entry('n2'), to: '41793026727' });
      await wait(50);
      (await a.lookup('41793026727')).messageId.should.equal('n2');
    });

    it('a key is first seen by one copy only, for the whole cluster', async function () {
      const [a, b] = [await connect(), await connect()];
      const seenA = sharedSightings(a, 'reports', 100);
      const seenB = sharedSightings(b, 'reports', 100);
      const answers = await Promise.all([seenA('r1'), seenB('r1'), seenA('r1'), seenB('r2')]);
      answers.filter(Boolean).should.have.length(2);
      (await seenB('r2')).should.be.false();
    });

    it('one poller: the lease is held by one copy until it hands it back', async function () {
      const [a, b] = [new PollLease(await connect(), 'reports'), new PollLease(await connect(), 'reports')];
      (await a.mine()).should.be.true();
      (await b.mine()).should.be.false();
      (await a.mine()).should.be.true();
      await a.release();
      (await b.mine()).should.be.true();
      (await a.mine()).should.be.false();
      await b.release();
    });

    it('each copy sees which copies share the account and which holds the poll lease', async function () {
      const a = await connect();
      const b = await connect();
      await new PollLease(b, 'inbound').mine();
      await Promise.all([a.refresh(), b.refresh()]);
      await a.refresh();
      a.view.copies.should.eql([a.name, b.name].sort());
      a.view.polling.should.eql({ inbound: b.name });
      await b.close();
      await a.refresh();
      a.view.copies.should.eql([a.name]);
    });

    it('a lease or permit lost with a Redis that restarted empty is only noted (no error escapes its timer)', async function () {
      const state = await connect();
      const lease = new SharedMutex(state, 'lost-lease', { lockTimeout: 400, acquireAttemptsLimit: 1 });
      const permit = new SharedPermit(state, 'lost-permit', 2, { lockTimeout: 400, acquireAttemptsLimit: 1 });
      (await lease.tryAcquire()).should.be.true();
      (await permit.tryAcquire()).should.be.true();
      await state.client.flushall();
      await wait(700);
      lease.isAcquired.should.be.false();
      permit.isAcquired.should.be.false();
    });

    it('concatenation references come from one counter: no two copies hand out the same one', async function () {
      const [a, b] = [await connect(), await connect()];
      const [nextA, nextB] = [sharedReferences(a, () => -1), sharedReferences(b, () => -1)];
      await wait(50);
      const refs = [];
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 30; i++) refs.push(nextA(), nextB());
        await wait(50);
      }
      refs.should.not.containEql(-1);
      new Set(refs).size.should.equal(refs.length);
    });

    // References that repeat fewer than `cycle` draws apart (8-bit: the low byte; 16-bit: the whole).
    const repeats = (refs, cycle, mask) => {
      const seenAt = new Map();
      const found = [];
      refs.forEach((ref, index) => {
        const at = seenAt.get(ref & mask);
        if (at !== undefined && index - at < cycle) found.push({ ref, at, index });
        seenAt.set(ref & mask, index);
      });
      return found;
    };

    it('concatenation references in a burst faster than Redis answers: none repeats within 256, nor is handed out to another copy', async function () {
      const a = await connect();
      const nextA = sharedReferences(a, () => -1);
      await wait(50);
      // Synchronous: no block that is asked for can arrive before the burst ends.
      const refs = Array.from({ length: 300 }, () => nextA());
      await wait(50);
      for (let i = 0; i < 100; i++) refs.push(nextA());
      refs.should.not.containEql(-1);
      should(repeats(refs, 256, 0xff)[0]).be.undefined();
      should(repeats(refs, 65536, 0xffff)[0]).be.undefined();
      // What this copy counted alone was taken off the counter: another copy does not get it.
      const nextB = sharedReferences(await connect(), () => -1);
      await wait(50);
      const other = Array.from({ length: 30 }, () => nextB());
      other.filter((ref) => refs.includes(ref)).should.eql([]);
    });

    it('concatenation references with Redis stopped after the first block: the copy counts on, none repeats within 256', async function () {
      const state = await connect();
      const next = sharedReferences(state, () => -1);
      await wait(50);
      await redis.stop();
      await until(() => !state.available, 5000, 'the outage to be noticed');
      const refs = Array.from({ length: 300 }, () => next());
      refs.should.not.containEql(-1);
      should(repeats(refs, 256, 0xff)[0]).be.undefined();
      // Redis back, and empty: blocks again, still none repeating.
      await redis.start();
      await until(() => state.available, 10000, 'the reconnection');
      for (let round = 0; round < 5; round++) {
        for (let i = 0; i < 40; i++) refs.push(next());
        await wait(50);
      }
      should(repeats(refs, 256, 0xff)[0]).be.undefined();
      should(repeats(refs, 65536, 0xffff)[0]).be.undefined();
      Number(await state.client.get(state.key('reference'))).should.be.aboveOrEqual(refs.at(-1));
    });

    it('Redis down: tracking, sightings, the lease and the budget go on alone, one change told per outage, and sharing resumes', async function () {
      const state = await connect();
      const copy = tracker(state);
      state.available.should.be.true();
      // Held across the outage: their renewals fail meanwhile (no unhandled rejection may come of it).
      const held = new PollLease(state, 'inbound');
      (await held.mine()).should.be.true();
      const permit = await new SharedBudget(state, { ratePerSecond: 0, concurrency: 1, requestTimeoutMs: 1 }).take();
      permit.should.have.property('release');
      await redis.stop();
      await until(() => !state.available, 5000, 'the outage to be noticed');
      copy.track(entry('alone'));
      (await copy.lookup('alone')).sent.topic.should.equal('sent alone');
      (await copy.takeOverdue(Date.now())).map((message) => message.messageId).should.eql(['alone']);
      (await sharedSightings(state, 'reports', 10)('x')).should.be.true();
      (await new PollLease(state, 'reports').mine()).should.be.true();
      const budget = new SharedBudget(state, { ratePerSecond: 10, concurrency: 1, requestTimeoutMs: 1000 });
      (await budget.take()).should.have.property('release');
      // Longer than the lease's and the permit's renewal intervals.
      await wait(2500);
      changes.filter((change) => !change.available).should.have.length(1);
      JSON.stringify(changes).should.not.containEql('redis-secret-pw');
      await redis.start();
      await until(() => state.available, 10000, 'the reconnection');
      changes.map((change) => change.available).should.eql([false, true]);
      // The lease expired with the Redis that went away: asked again, it is taken anew.
      (await held.mine()).should.be.true();
      permit.release();
      copy.track(entry('shared again'));
      await wait(50);
      (await tracker(await connect()).lookup('shared again')).sent.topic.should.equal('sent shared again');
    });

    it('the budget: Parallel for the cluster, and a pause one copy sets holds the others back', async function () {
      const [a, b] = [await connect(), await connect()];
      const options = { ratePerSecond: 0, concurrency: 2, requestTimeoutMs: 1000 };
      const [budgetA, budgetB] = [new SharedBudget(a, options), new SharedBudget(b, options)];
      const first = await budgetA.take();
      const second = await budgetB.take();
      first.should.have.property('release');
      second.should.have.property('release');
      (await budgetA.take()).should.have.property('waitMs');
      second.release();
      await wait(50);
      const third = await budgetA.take();
      third.should.have.property('release');
      first.release();
      third.release();
      await wait(50);
      budgetA.pause(Date.now() + 2000, 429);
      await wait(50);
      const held = await budgetB.take();
      held.pausedStatus.should.equal(429);
      held.waitMs.should.be.within(1000, 2000);
    });

    it('the budget: Rate limit 40 plans 38 starts a second (the margin), for all copies together, spread over each tenth', async function () {
      const [a, b] = [await connect(), await connect()];
      const options = { ratePerSecond: 40, concurrency: 100, requestTimeoutMs: 1000 };
      const [budgetA, budgetB] = [new SharedBudget(a, options), new SharedBudget(b, options)];
      // Just after a window starts, so that all the asking falls into one window.
      await wait(100 - (Date.now() % 100) + 5);
      const index = Math.floor(Date.now() / 100);
      const allowed = windowPoints(40 * 0.95, index);
      allowed.should.be.within(3, 4);
      const startedAt = [];
      const answers = await Promise.all(
        [budgetA, budgetB, budgetA, budgetB, budgetA, budgetB].map((budget) =>
          budget.take().then((answer) => {
            if ('release' in answer) startedAt.push(Date.now());
            return answer;
          }),
        ),
      );
      answers.filter((answer) => 'release' in answer).should.have.length(allowed);
      for (const answer of answers) if ('waitMs' in answer) answer.waitMs.should.be.within(1, 100);
      // Each start has its own turn in the window, 100 ms / allowed apart: the last one not before its turn
      // (less 2 ms: Node's timers run on a monotonic clock and may fire a millisecond early by Date.now()).
      Math.max(...startedAt).should.be.aboveOrEqual(index * 100 + Math.floor((100 * (allowed - 1)) / allowed) - 2);
      const second = Array.from({ length: 10 }, (_, tenth) => windowPoints(40 * 0.95, index + tenth));
      second.reduce((sum, points) => sum + points, 0).should.be.within(37, 38);
    });
  });

  describe('a pipeline with a shared budget (fake timers)', function () {
    let clock;
    beforeEach(() => {
      clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
    });
    afterEach(() => clock.uninstall());

    const OK = { statusCode: 200, body: { messages: [] } };
    const submitTo = (pipeline, ended, id) =>
      pipeline.submit({ id, to: ['41793026727'], binary: { hex: 'ab' } }, {}, (error) =>
        ended.push({ id, error, at: Date.now() }),
      );

    it('starts only when the budget allows, waits as long as it says, and releases after each request', async function () {
      const answers = [{ waitMs: 250 }, { release: () => released.push(Date.now()) }];
      const released = [];
      const asked = [];
      const budget = {
        take: async () => {
          asked.push(Date.now());
          return answers.shift() ?? { release: () => released.push(Date.now()) };
        },
        pause: () => undefined,
      };
      const starts = [];
      const ended = [];
      const pipeline = new Pipeline(
        { concurrency: 4, ratePerSecond: 0, queueLimit: 0, retries: 0, throttleWaitMs: 60_000, budget },
        (requests) => {
          starts.push(Date.now());
          return new Promise((resolve) => setTimeout(() => resolve(requests.map(() => OK)), 100));
        },
      );
      const t0 = Date.now();
      submitTo(pipeline, ended, 1);
      submitTo(pipeline, ended, 2);
      await clock.runAllAsync();
      starts.map((at) => at - t0).should.eql([250, 250]);
      ended.map((entry) => entry.id).should.eql([1, 2]);
      released.should.have.length(2);
      released.every((at) => at - t0 === 350).should.be.true();
      asked[1].should.equal(t0 + 250);
    });

    it('a pause another copy set pauses this one too (its messages wait, counted as paused); a 429 that says the limit is near is shared', async function () {
      const shared = [];
      let pausedUntil = Date.now() + 5000;
      const budget = {
        take: async () =>
          Date.now() < pausedUntil
            ? { waitMs: pausedUntil - Date.now(), pausedStatus: 429 }
            : { release: () => undefined },
        pause: (until, status) => shared.push({ in: until - Date.now(), status }),
      };
      const ended = [];
      let calls = 0;
      const pipeline = new Pipeline(
        { concurrency: 4, ratePerSecond: 0, queueLimit: 0, retries: 0, throttleWaitMs: 60_000, budget },
        async (requests) => {
          calls++;
          if (calls > 8) return requests.map(() => OK);
          throw new SendFailure('http', { status: 429 }, 'throttled', 429, 3000);
        },
      );
      const t0 = Date.now();
      for (const id of [1, 2, 3, 4]) submitTo(pipeline, ended, id);
      await clock.tickAsync(10);
      pipeline.gauges.pausedForMs.should.be.within(4900, 5000);
      pipeline.gauges.pauseStatus.should.equal(429);
      pausedUntil = 0;
      calls.should.equal(0);
      await clock.runAllAsync();
      ended.should.have.length(4);
      ended.every((entry) => entry.error === undefined && entry.at > t0 + 5000).should.be.true();
      // Several 429s in a second say the limit is near: that pause was handed to the budget.
      shared.length.should.be.above(0);
      shared[0].status.should.equal(429);
      shared[0].in.should.be.within(2900, 3000);
    });
  });

  describe('a poller taking turns (fake timers)', function () {
    let clock;
    beforeEach(() => {
      clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    });
    afterEach(() => clock.uninstall());

    it('polls only while it holds the turn, asks again every few seconds, and hands it back on stop', async function () {
      let mine = false;
      const statuses = [];
      let released = 0;
      const fetched = [];
      const poller = new Poller({
        intervalMs: 10_000,
        pageSize: 100,
        fetch: async () => {
          fetched.push(Date.now());
          return [];
        },
        emit: async () => undefined,
        turn: { mine: async () => mine, release: async () => void released++ },
        listener: {
          idle: () => statuses.push('idle'),
          standby: () => statuses.push('standby'),
          retrying: () => undefined,
          unauthorized: () => undefined,
        },
      });
      const t0 = Date.now();
      poller.start();
      await clock.tickAsync(STANDBY_CHECK_MS * 3);
      fetched.should.eql([]);
      statuses.should.eql(['standby', 'standby', 'standby', 'standby']);
      mine = true;
      await clock.tickAsync(STANDBY_CHECK_MS);
      fetched.should.eql([t0 + STANDBY_CHECK_MS * 4]);
      // Holding the turn, it polls at its own interval.
      await clock.tickAsync(10_000);
      fetched.should.have.length(2);
      await poller.stop(1000);
      released.should.equal(1);
    });
  });
});
