'use strict';
// The smaller timed mechanisms, with fake timers: the report poller, the status throttle,
// the backoff and Retry-After parsing.
const should = require('should');
const FakeTimers = require('@sinonjs/fake-timers');
const { Poller } = require('../../dist/lib/receive/poller');
const { ThrottledStatus } = require('../../dist/lib/status');
const { backoffDelay } = require('../../dist/lib/send/backoff');
const { parseRetryAfter } = require('../../dist/lib/http/client');
const { SendFailure } = require('../../dist/lib/errors');

describe('timed mechanisms (fake timers)', function () {
  let clock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => clock.uninstall());

  function poller(fetch, overrides = {}) {
    const events = [];
    const emitted = [];
    const subject = new Poller({
      intervalMs: 15_000,
      pageSize: 3,
      fetch,
      emit: async (page) => emitted.push(...page),
      listener: {
        idle: () => events.push(['idle', Date.now()]),
        retrying: (delayMs, _error, first) => events.push(['retrying', delayMs, first]),
        unauthorized: (status, first) => events.push(['unauthorized', status, first]),
      },
      ...overrides,
    });
    return { subject, events, emitted };
  }

  describe('Poller', function () {
    it('fetches a full page again at once, then waits the interval after the poll finished', async function () {
      const pages = [[1, 2, 3], [4], [], [5]];
      const calls = [];
      const { subject, emitted } = poller(async () => {
        calls.push(Date.now());
        return pages.shift() ?? [];
      });
      subject.start();
      await clock.tickAsync(0);
      emitted.should.eql([1, 2, 3, 4]);
      calls.should.have.length(2);
      await clock.tickAsync(15_000);
      calls.should.have.length(3);
      await clock.tickAsync(15_000);
      emitted.should.eql([1, 2, 3, 4, 5]);
    });

    it('backs off with a cap of 30 s, honours Retry-After, and reports the first failure of a series', async function () {
      let failures = 6;
      const { subject, events } = poller(async () => {
        if (failures-- > 0) throw new SendFailure('http', { status: 503 }, 'throttled', 503);
        return [];
      });
      subject.start();
      await clock.tickAsync(10 * 60_000);
      const waits = events.filter(([kind]) => kind === 'retrying');
      waits.should.have.length(6);
      waits.map(([, , first]) => first).should.eql([true, false, false, false, false, false]);
      waits.forEach(([, delayMs]) => delayMs.should.be.belowOrEqual(30_000));
      waits[5][1].should.be.aboveOrEqual(15_000);
      events.at(-1)[0].should.equal('idle');
      const honoured = poller(async () => {
        throw new SendFailure('http', { status: 429 }, 'throttled', 429, 120_000);
      });
      honoured.subject.start();
      await clock.tickAsync(0);
      honoured.events[0].should.eql(['retrying', 120_000, true]);
      await honoured.subject.stop(0);
      await subject.stop(0);
    });

    it('stop during a poll: the page fetched is still emitted, and no poll starts after', async function () {
      let calls = 0;
      const { subject, emitted } = poller(
        () =>
          new Promise((resolve) => {
            calls++;
            setTimeout(() => resolve(['late']), 2000);
          }),
      );
      subject.start();
      await clock.tickAsync(10);
      const stopping = subject.stop(5000);
      await clock.tickAsync(2000);
      await stopping;
      emitted.should.eql(['late']);
      await clock.tickAsync(60_000);
      calls.should.equal(1);
    });

    it('a fetch that timed out (aborting the controller it was given) does not abort the polls after it', async function () {
      let calls = 0;
      const { subject, emitted } = poller((controller) => {
        calls++;
        if (controller.signal.aborted) return Promise.reject(new Error('aborted before it began'));
        if (calls === 1) {
          // As the client does on its timeout.
          controller.abort();
          return Promise.reject(new SendFailure('timeout', { seconds: '1.0' }, 'unknown'));
        }
        return Promise.resolve(['after the timeout']);
      });
      subject.start();
      await clock.tickAsync(5000);
      emitted.should.eql(['after the timeout']);
      await subject.stop(0);
    });

    it('a poller stopped before it was ready never fetches', async function () {
      let release;
      let calls = 0;
      const { subject } = poller(
        async () => {
          calls++;
          return [];
        },
        { ready: new Promise((resolve) => (release = resolve)) },
      );
      subject.start();
      const stopping = subject.stop(1000);
      release();
      await stopping;
      await clock.tickAsync(60_000);
      calls.should.equal(0);
    });
  });

  describe('ThrottledStatus', function () {
    it('shows a change of colour at once and further updates at most every 250 ms', async function () {
      const shown = [];
      const status = new ThrottledStatus((value) => shown.push(value.text));
      status.show('blue', 'dot', 'sending 1');
      status.show('blue', 'dot', 'sending 2');
      status.show('blue', 'dot', 'sending 3');
      shown.should.eql(['sending 1']);
      status.show('red', 'ring', 'failed');
      shown.should.eql(['sending 1', 'failed']);
      status.show('red', 'ring', () => 'failed again');
      await clock.tickAsync(250);
      shown.should.eql(['sending 1', 'failed', 'failed again']);
      status.clear();
      should(shown.at(-1)).be.undefined();
    });
  });

  describe('backoff', function () {
    it('doubles from its base with equal jitter, and never exceeds 30 s', function () {
      backoffDelay(1, 1000, () => 0).should.equal(500);
      backoffDelay(1, 1000, () => 1).should.equal(1000);
      backoffDelay(3, 1000, () => 1).should.equal(4000);
      backoffDelay(20, 1000, () => 1).should.equal(30_000);
      backoffDelay(20, 1000, () => 0).should.equal(15_000);
    });
  });

  describe('Retry-After', function () {
    it('reads whole seconds and HTTP dates; ignores fractions, negatives and words', function () {
      parseRetryAfter('3').should.equal(3000);
      parseRetryAfter(' 0 ').should.equal(0);
      const now = Date.parse('2026-11-29T10:00:00Z');
      parseRetryAfter('Sun, 29 Nov 2026 10:00:05 GMT', now).should.equal(5000);
      parseRetryAfter('Sun, 29 Nov 2026 09:00:00 GMT', now).should.equal(0);
      for (const ignored of ['1.5', '-5', 'soon', '', undefined, 3]) should(parseRetryAfter(ignored)).be.undefined();
    });
  });
});
