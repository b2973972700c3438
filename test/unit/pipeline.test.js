'use strict';
// The send pipeline with fake timers: order, retries, the account's pauses and pace.
const should = require('should');
const FakeTimers = require('@sinonjs/fake-timers');
const { Pipeline } = require('../../dist/lib/send/pipeline');
const { SendFailure } = require('../../dist/lib/errors');

const OK = { statusCode: 200, body: { messages: [] } };
const throttled = (status, retryAfterMs) => new SendFailure('http', { status }, 'throttled', status, retryAfterMs);
const notSent = () => new SendFailure('notConnected', { code: 'ECONNREFUSED' }, 'notSent');

/**
 * A pipeline whose attempts are answered by `answer(request, attemptNumber, requests)` (a result,
 * or an error to throw for the whole request) after `latencyMs` of fake time; `request` is the
 * first the attempt carries. Records the requests in the order they started, and each attempt's
 * batch (the ids it carried).
 */
function harness(options, answer = () => OK, latencyMs = 10) {
  const started = [];
  const ended = [];
  const batches = [];
  const pipeline = new Pipeline(
    { concurrency: 1, ratePerSecond: 0, queueLimit: 0, retries: 3, throttleWaitMs: 600_000, ...options },
    (requests) => {
      batches.push(requests.map((request) => request.id));
      for (const request of requests) started.push({ id: request.id, at: performance.now() });
      const attempt = started.filter((entry) => entry.id === requests[0].id).length;
      return new Promise((resolve, reject) =>
        setTimeout(() => {
          const result = answer(requests[0], attempt, requests);
          if (result instanceof Error) reject(result);
          else resolve(requests.map(() => result));
        }, latencyMs),
      );
    },
  );
  const submit = (id, extra = {}) =>
    pipeline.submit({ id, to: ['41793026727'], binary: { hex: 'ab' }, ...extra }, {}, (error) =>
      ended.push({ id, error, at: performance.now() }),
    );
  return { pipeline, started, ended, batches, submit };
}

describe('Pipeline (fake timers)', function () {
  let clock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  });
  afterEach(() => clock.uninstall());

  it('starts messages in the order they came, one slot at a time', async function () {
    const { started, ended, submit } = harness({ concurrency: 1 });
    for (const id of [1, 2, 3, 4]) submit(id);
    await clock.runAllAsync();
    started.map((entry) => entry.id).should.eql([1, 2, 3, 4]);
    ended.map((entry) => entry.id).should.eql([1, 2, 3, 4]);
  });

  it('a retry after a failure that sent nothing goes back to the front of the queue', async function () {
    const { started, submit } = harness({ concurrency: 1, backoffMs: 2 }, (request, attempt) =>
      request.id === 1 && attempt === 1 ? notSent() : OK,
    );
    for (const id of [1, 2, 3]) submit(id);
    // 1 fails; while it backs off, 2 starts; 1 then re-enters ahead of 3.
    await clock.runAllAsync();
    started.map((entry) => entry.id).should.eql([1, 2, 1, 3]);
  });

  it('the rate limit spaces request starts, 5 % below the limit (requests arrive with jitter)', async function () {
    const { started, submit } = harness({ concurrency: 4, ratePerSecond: 10 });
    for (const id of [1, 2, 3, 4, 5]) submit(id);
    await clock.runAllAsync();
    const gaps = started.slice(1).map((entry, i) => Math.round(entry.at - started[i].at));
    gaps.should.have.length(4);
    for (const gap of gaps) gap.should.be.within(105, 106);
  });

  it('the rate limit keeps its pace when timers fire late, and starts no burst after an idle time', async function () {
    const { started, submit } = harness({ concurrency: 4, ratePerSecond: 10 });
    await clock.tickAsync(5000);
    for (const id of [1, 2, 3]) submit(id);
    await clock.runAllAsync();
    const gaps = started.slice(1).map((entry, i) => Math.round(entry.at - started[i].at));
    gaps.should.have.length(2);
    for (const gap of gaps) gap.should.be.within(105, 106);
  });

  it('a single 429 costs only its own message a wait: the others go on', async function () {
    const { started, ended, submit } = harness({ concurrency: 2 }, (request, attempt) =>
      request.id === 1 && attempt === 1 ? throttled(429, 2000) : OK,
    );
    submit(1);
    submit(2);
    await clock.tickAsync(15);
    submit(3);
    submit(4);
    await clock.tickAsync(100);
    ended.map((entry) => entry.id).should.eql([2, 3, 4]);
    await clock.runAllAsync();
    ended.every((entry) => entry.error === undefined).should.be.true();
    started.find((entry, i) => i > 1 && entry.id === 1).at.should.be.aboveOrEqual(2010);
  });

  it('429s that say the limit is near pause the whole account for their Retry-After, then it goes on', async function () {
    const { started, ended, submit } = harness({ concurrency: 4 }, (request, attempt) =>
      request.id <= 3 && attempt === 1 ? throttled(429, 2000) : OK,
    );
    for (const id of [1, 2, 3, 4]) submit(id);
    await clock.tickAsync(15);
    // Three of four answers were 429: messages that come now wait for the pause.
    submit(5);
    submit(6);
    await clock.tickAsync(1900);
    started.filter((entry) => entry.at > 15).should.be.empty();
    await clock.runAllAsync();
    ended.every((entry) => entry.error === undefined).should.be.true();
    for (const id of [5, 6]) started.find((entry) => entry.id === id).at.should.be.aboveOrEqual(2010);
  });

  it('messages queued behind a pause fail once their wait from the pause exceeds Wait on 429, unsent', async function () {
    // Three slots, 3 requests/s: the first three answers are 429 (the limit is near), and after the
    // 2 s pause the account goes at the pace it learnt, so the k-th queued message waits longer.
    let pausedAt;
    const { started, ended, submit } = harness(
      { concurrency: 3, ratePerSecond: 3, throttleWaitMs: 5000 },
      (request, attempt) => {
        if (request.id > 2 || attempt > 1) return OK;
        if (request.id === 2) pausedAt = performance.now();
        return throttled(429, 2000);
      },
    );
    for (let id = 0; id < 10; id++) submit(id);
    await clock.runAllAsync();
    const failed = ended.filter((entry) => entry.error).map((entry) => entry.id);
    const sent = ended.filter((entry) => !entry.error).map((entry) => entry.id);
    failed.length.should.be.above(0);
    for (const entry of ended.filter((candidate) => candidate.error)) {
      entry.error.key.should.equal('throttledTooLong');
      entry.error.params.status.should.equal(429);
      started.some((start) => start.id === entry.id).should.be.false();
    }
    // No message that was sent after the pause began started more than the limit after it.
    for (const id of sent.filter((candidate) => candidate > 2)) {
      const first = started.find((start) => start.id === id);
      (first.at - pausedAt).should.be.belowOrEqual(5000);
    }
  });

  it('a Retry-After longer than Wait on 429 fails that message and pauses the account for the others', async function () {
    const { started, ended, submit } = harness({ concurrency: 1, throttleWaitMs: 3000 }, (request, attempt) =>
      request.id === 1 && attempt === 1 ? throttled(429, 60_000) : OK,
    );
    for (const id of [1, 2, 3]) submit(id);
    await clock.tickAsync(20);
    const keys = Object.fromEntries(ended.map((entry) => [entry.id, entry.error?.key]));
    keys.should.eql({ 1: 'retryAfterTooLong', 2: 'throttledTooLong', 3: 'throttledTooLong' });
    started.should.have.length(1);
    // A message that comes while the pause lasts fails at once, without a request.
    submit(4);
    ended.at(-1).should.have.properties({ id: 4 });
    ended.at(-1).error.key.should.equal('throttledTooLong');
    started.should.have.length(1);
  });

  it('a 503 is no rate signal: it costs only its own message a wait, the others go on at full speed', async function () {
    const { pipeline, started, ended, submit } = harness({ concurrency: 1 }, (request, attempt) =>
      request.id === 2 && attempt === 1 ? throttled(503, 1000) : OK,
    );
    for (const id of [1, 2, 3, 4]) submit(id);
    await clock.tickAsync(100);
    // 3 and 4 did not wait for 2's Retry-After.
    ended.map((entry) => entry.id).should.eql([1, 3, 4]);
    await clock.runAllAsync();
    ended.map((entry) => entry.id).should.eql([1, 3, 4, 2]);
    started.filter((entry) => entry.id === 2).should.have.length(2);
    pipeline.pacePerSecond.should.equal(Infinity);
  });

  it('1 % of requests answered 503 at random keep at least 90 % of the fault-free throughput', async function () {
    this.timeout(20000);
    const run = async (faultRate) => {
      let seed = 7;
      const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
      const { ended, submit } = harness({ concurrency: 4 }, () => (random() < faultRate ? throttled(503) : OK), 20);
      // 200 messages/s for 60 s.
      for (let second = 0; second < 60; second++) {
        for (let i = 0; i < 200; i++) submit(second * 200 + i);
        await clock.tickAsync(1000);
      }
      const done = ended.filter((entry) => !entry.error).length;
      await clock.runAllAsync();
      ended.length.should.equal(12000);
      new Set(ended.map((entry) => entry.id)).size.should.equal(12000);
      return done;
    };
    const clean = await run(0);
    const faulty = await run(0.01);
    (faulty / clean).should.be.aboveOrEqual(0.9);
  });

  it("random 429s that do not follow the account's own rate cost their own messages, not the throughput", async function () {
    this.timeout(30000);
    // An account shared with other applications: 2 % of answers are 429 (Retry-After 1 s) and 3 % 503, at any rate.
    const run = async (faulty) => {
      let seed = 11;
      const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
      const answer = () => {
        if (!faulty) return OK;
        const draw = random();
        return draw < 0.02 ? throttled(429, 1000) : draw < 0.05 ? throttled(503) : OK;
      };
      const { ended, submit } = harness({ concurrency: 8 }, answer, 20);
      // 200 messages/s for 60 s.
      for (let second = 0; second < 60; second++) {
        for (let i = 0; i < 200; i++) submit(second * 200 + i);
        await clock.tickAsync(1000);
      }
      const done = ended.filter((entry) => !entry.error).length;
      await clock.tickAsync(600_000);
      ended.length.should.equal(12000);
      new Set(ended.map((entry) => entry.id)).size.should.equal(12000);
      return done;
    };
    const clean = await run(false);
    const faulty = await run(true);
    (faulty / clean).should.be.aboveOrEqual(0.9);
  });

  it('the pace learnt from 429s falls, then recovers while none come', async function () {
    // An account accepting 50 requests per second; beyond, 429 with Retry-After 1 s.
    let windowStart = 0;
    let inWindow = 0;
    const limit = () => {
      const now = performance.now();
      if (now - windowStart >= 1000) {
        windowStart = now;
        inWindow = 0;
      }
      return ++inWindow > 50 ? throttled(429, 1000) : OK;
    };
    const { pipeline, ended, submit } = harness({ concurrency: 8 }, limit, 5);
    for (let id = 0; id < 1000; id++) submit(id);
    await clock.tickAsync(3000);
    const learnt = pipeline.pacePerSecond;
    learnt.should.be.below(60);
    await clock.tickAsync(60_000);
    ended.filter((entry) => entry.error).should.be.empty();
    ended.should.have.length(1000);
    // Without further 429s the pace rises again.
    for (let id = 1000; id < 1100; id++) submit(id);
    await clock.tickAsync(10_000);
    pipeline.pacePerSecond.should.be.above(learnt);
  });

  it('a wall clock stepped back does not stall the account (pacing is monotonic)', async function () {
    const { started, submit } = harness({ concurrency: 1, ratePerSecond: 10 });
    submit(1);
    submit(2);
    clock.setSystemTime(Date.now() - 3600_000);
    submit(3);
    await clock.tickAsync(500);
    started.map((entry) => entry.id).should.eql([1, 2, 3]);
  });

  it('close ends waiting messages with "closed" and lets the one in flight finish', async function () {
    const { pipeline, ended, submit } = harness({ concurrency: 1 }, () => OK, 1000);
    for (const id of [1, 2, 3]) submit(id);
    const closing = pipeline.close(10_000);
    ended
      .map((entry) => [entry.id, entry.error?.key])
      .should.eql([
        [2, 'closed'],
        [3, 'closed'],
      ]);
    await clock.tickAsync(1000);
    await closing;
    should(ended.find((entry) => entry.id === 1).error).be.undefined();
  });

  it('close aborts what is still in flight when the grace period ends: "delivery unknown", never resent', async function () {
    const aborted = [];
    const pipeline = new Pipeline(
      { concurrency: 1, ratePerSecond: 0, queueLimit: 0, retries: 3, throttleWaitMs: 600_000 },
      (_requests, controller) =>
        new Promise((_resolve, reject) =>
          controller.signal.addEventListener('abort', () => {
            aborted.push(performance.now());
            reject(new SendFailure('abortedInFlight', { seconds: '10.0' }, 'final'));
          }),
        ),
    );
    const ended = [];
    pipeline.submit({ id: 1, to: ['41793026727'], binary: { hex: 'ab' } }, {}, (error) => ended.push(error.key));
    await clock.tickAsync(1);
    const closing = pipeline.close(10_000);
    await clock.tickAsync(9_999);
    ended.should.be.empty();
    await clock.tickAsync(1);
    await closing;
    ended.should.eql(['abortedInFlight']);
    aborted.should.eql([10_001]);
  });

  describe('several waiting messages in one request (v3)', function () {
    it("a node that closes stops waiting for its own messages only: the request goes on for another node's", async function () {
      let aborted = false;
      const pipeline = new Pipeline(
        { concurrency: 1, ratePerSecond: 0, queueLimit: 0, retries: 3, throttleWaitMs: 600_000, batchSize: 10 },
        (requests, controller) =>
          new Promise((resolve, reject) => {
            controller.signal.addEventListener('abort', () => {
              aborted = true;
              reject(new SendFailure('abortedInFlight', { seconds: '10.0' }, 'final'));
            });
            setTimeout(() => resolve(requests.map(() => OK)), 15_000);
          }),
      );
      const ended = [];
      const submit = (id) =>
        pipeline.submit({ id, to: ['41793026727'], binary: { hex: 'ab' } }, {}, (error) =>
          ended.push([id, error?.key]),
        );
      // One slot: the first message goes alone, A's and B's wait for it, then share one request.
      submit('blocker');
      const a = submit('A');
      submit('B');
      await clock.tickAsync(15_000);
      ended.should.eql([['blocker', undefined]]);
      const closingA = pipeline.closeJobs([a], 10_000);
      await clock.tickAsync(10_000);
      await closingA;
      ended.should.eql([
        ['blocker', undefined],
        ['A', 'abortedInFlight'],
      ]);
      aborted.should.be.false();
      await clock.tickAsync(5_000);
      ended.should.eql([
        ['blocker', undefined],
        ['A', 'abortedInFlight'],
        ['B', undefined],
      ]);
    });

    const final = (key, status) => new SendFailure(key, { status, seconds: '30.0' }, 'final', status);

    it("each message's error is its own: a message on its first attempt does not say it was retried", async function () {
      const { ended, submit, batches } = harness(
        { concurrency: 1, batchSize: 10, backoffMs: 100 },
        (request, attempt) =>
          request.id === 'X' && attempt === 1 ? notSent() : request.id === 'W' ? OK : final('http', 500),
        1000,
      );
      // X fails unsent and waits ~0.1 s; W holds the slot meanwhile, so X's retry and Y share one request.
      submit('X');
      await clock.tickAsync(500);
      submit('W');
      await clock.tickAsync(550);
      submit('Y');
      await clock.runAllAsync();
      batches.should.eql([['X'], ['W'], ['X', 'Y']]);
      const errorOf = (id) => ended.find((entry) => entry.id === id).error;
      errorOf('X').params.attempts.should.equal(2);
      errorOf('Y').params.attempts.should.equal(1);
    });

    it('a message of a closed node in a request refused with a 400 ends with its own refusal or "closed", never another\'s', async function () {
      const refused = new SendFailure('http', { status: 400, detail: 'one' }, 'final', 400);
      refused.refused = new Map([
        [0, new SendFailure('http', { status: 400, detail: 'messages[0] bad' }, 'final', 400)],
      ]);
      const { pipeline, ended, submit } = harness(
        { concurrency: 1, batchSize: 10 },
        (request) => (request.id === 'blocker' ? OK : refused),
        1000,
      );
      submit('blocker');
      submit('bad');
      const other = submit('other');
      await clock.tickAsync(1500);
      pipeline.cancel(other);
      await clock.runAllAsync();
      const detailOf = (id) => ended.find((entry) => entry.id === id).error;
      detailOf('bad').params.detail.should.equal('messages[0] bad');
      detailOf('other').key.should.equal('closed');
    });

    it('a listener that throws ends only its own message: the rest of the request still gets its answer', async function () {
      const thrown = [];
      const pipeline = new Pipeline(
        {
          concurrency: 1,
          ratePerSecond: 0,
          queueLimit: 0,
          retries: 3,
          throttleWaitMs: 600_000,
          batchSize: 10,
          listenerFailed: (error) => thrown.push(error.message),
        },
        (requests) => new Promise((resolve) => setTimeout(() => resolve(requests.map(() => OK)), 10)),
      );
      const ended = [];
      const submit = (id, listener) =>
        pipeline.submit({ id, to: ['41793026727'], binary: { hex: 'ab' } }, {}, listener);
      submit('blocker', () => ended.push('blocker'));
      submit('A', () => {
        throw new Error('downstream broke');
      });
      submit('B', (error) => ended.push(['B', error]));
      await clock.runAllAsync();
      ended.should.eql(['blocker', ['B', undefined]]);
      thrown.should.eql(['downstream broke']);
    });

    it('a message that comes while a slot is free goes at once, alone; waiting ones go together, in order', async function () {
      const { batches, ended, submit } = harness({ concurrency: 1, batchSize: 3 });
      for (let id = 1; id <= 7; id++) submit(id);
      await clock.runAllAsync();
      batches.should.eql([[1], [2, 3, 4], [5, 6, 7]]);
      ended.map((entry) => entry.id).should.eql([1, 2, 3, 4, 5, 6, 7]);
      ended.every((entry) => entry.error === undefined).should.be.true();
    });

    it('only messages with the same sendAt share a request; the body stays under its cap', async function () {
      const at = (sendAt) => ({ options: { sendAt } });
      const { batches, submit } = harness({ concurrency: 1, batchSize: 10 });
      submit(1);
      submit(2, at('A'));
      submit(3, at('A'));
      submit(4, at('B'));
      submit(5, at('A'));
      await clock.runAllAsync();
      batches.should.eql([[1], [2, 3], [4], [5]]);
      const capped = harness({ concurrency: 1, batchSize: 10, maxBatchBytes: 700 });
      for (let id = 1; id <= 5; id++) capped.submit(id);
      await clock.runAllAsync();
      capped.batches.should.eql([[1], [2, 3], [4, 5]]);
    });

    it('a 400 naming messages fails those, and sends the others again at once without using retries', async function () {
      const own = new SendFailure('http', { status: 400, detail: 'messages[1]: its own violation' }, 'final', 400);
      const { batches, ended, submit } = harness(
        { concurrency: 1, batchSize: 3, retries: 0 },
        (first, _attempt, requests) => {
          if (requests.length === 3 && first.id === 2) {
            const failure = final('http', 400);
            failure.refused = new Map([[1, own]]);
            return failure;
          }
          return OK;
        },
      );
      for (let id = 1; id <= 4; id++) submit(id);
      await clock.runAllAsync();
      batches.should.eql([[1], [2, 3, 4], [2, 4]]);
      ended.find((entry) => entry.id === 3).error.params.detail.should.equal('messages[1]: its own violation');
      ended.filter((entry) => entry.error).should.have.length(1);
    });

    it('a 400 naming none: each message goes again alone, once, so only the refused one fails', async function () {
      const { batches, ended, submit } = harness(
        { concurrency: 1, batchSize: 3, retries: 0 },
        (first, _attempt, requests) => (requests.some((request) => request.id === 3) ? final('http', 400) : OK),
      );
      for (let id = 1; id <= 4; id++) submit(id);
      await clock.runAllAsync();
      batches.should.eql([[1], [2, 3, 4], [2], [3], [4]]);
      ended
        .filter((entry) => entry.error)
        .map((entry) => entry.id)
        .should.eql([3]);
    });

    it('a 400 that names only messages outside the request counts as naming none', async function () {
      const { batches, ended, submit } = harness(
        { concurrency: 1, batchSize: 3, retries: 0 },
        (first, _attempt, requests) => {
          if (requests.length === 3) {
            const failure = final('http', 400);
            failure.refused = new Map([[7, final('http', 400)]]);
            return failure;
          }
          return OK;
        },
      );
      for (let id = 1; id <= 4; id++) submit(id);
      await clock.runAllAsync();
      batches.should.eql([[1], [2, 3, 4], [2], [3], [4]]);
      ended.every((entry) => entry.error === undefined).should.be.true();
    });

    it('401 and other refusals fail every message of the request', async function () {
      const { ended, submit } = harness({ concurrency: 1, batchSize: 3 }, (first) =>
        first.id === 2 ? final('http401', 401) : OK,
      );
      for (let id = 1; id <= 4; id++) submit(id);
      await clock.runAllAsync();
      ended
        .filter((entry) => entry.error)
        .map((entry) => entry.id)
        .should.eql([2, 3, 4]);
    });

    it('a sporadic 429: the request waits its Retry-After as a whole, in its order, while the others go on', async function () {
      const { batches, started, ended, submit } = harness({ concurrency: 1, batchSize: 3 }, (first, attempt) =>
        first.id === 2 && attempt === 1 ? throttled(429, 1000) : OK,
      );
      for (let id = 1; id <= 5; id++) submit(id);
      await clock.runAllAsync();
      batches.should.eql([[1], [2, 3, 4], [5], [2, 3, 4]]);
      const second = started.filter((entry) => entry.id === 2)[1];
      second.at.should.be.aboveOrEqual(1010);
      ended.every((entry) => entry.error === undefined).should.be.true();
    });

    it('no answer in time: every message of the request ends "delivery unknown", never sent again', async function () {
      const { batches, ended, submit } = harness({ concurrency: 1, batchSize: 3 }, (first) =>
        first.id === 2 ? final('timeout', undefined) : OK,
      );
      for (let id = 1; id <= 4; id++) submit(id);
      await clock.runAllAsync();
      batches.should.eql([[1], [2, 3, 4]]);
      ended
        .filter((entry) => entry.error?.key === 'timeout')
        .map((entry) => entry.id)
        .should.eql([2, 3, 4]);
    });

    it('a connection that failed before the request was written: the request is retried as a whole', async function () {
      const { batches, ended, submit } = harness({ concurrency: 1, batchSize: 3, backoffMs: 2 }, (first, attempt) =>
        first.id === 2 && attempt === 1 ? notSent() : OK,
      );
      for (let id = 1; id <= 4; id++) submit(id);
      await clock.runAllAsync();
      batches.should.eql([[1], [2, 3, 4], [2, 3, 4]]);
      ended.every((entry) => entry.error === undefined).should.be.true();
    });

    it('close: a request in flight may finish; messages still waiting end "closed"', async function () {
      const { pipeline, ended, submit } = harness({ concurrency: 1, batchSize: 2 }, () => OK, 1000);
      for (let id = 1; id <= 5; id++) submit(id);
      await clock.tickAsync(1000);
      // [1] done; [2, 3] in flight; 4 and 5 wait.
      const closing = pipeline.close(10_000);
      ended
        .filter((entry) => entry.error)
        .map((entry) => [entry.id, entry.error.key])
        .should.eql([
          [4, 'closed'],
          [5, 'closed'],
        ]);
      await clock.tickAsync(1000);
      await closing;
      ended
        .filter((entry) => !entry.error)
        .map((entry) => entry.id)
        .should.eql([1, 2, 3]);
    });
  });
});

describe('Pipeline: a resend that must start by a time (fake timers)', function () {
  let clock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  });
  afterEach(() => clock.uninstall());

  it('is never sent once its time has passed while it waited: it ends resendTooLate', async function () {
    const { started, ended, submit } = harness({ concurrency: 1 }, () => OK, 5_000);
    submit(1);
    submit(2, { startBy: Date.now() + 1_000 });
    submit(3, { startBy: Date.now() + 60_000 });
    await clock.runAllAsync();
    started.map((entry) => entry.id).should.eql([1, 3]);
    ended.find((entry) => entry.id === 2).error.key.should.equal('resendTooLate');
  });
});
