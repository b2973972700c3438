'use strict';
// The counters behind the editor's Infobip sidebar, and their publisher, with fake timers:
// 10-second buckets over 10 minutes, the last 5 minutes, requests per second, and pictures
// published at most once a second and never while nothing changes.
const should = require('should');
const FakeTimers = require('@sinonjs/fake-timers');
const { AccountStats, lastCounts, BUCKET_MS } = require('../../dist/lib/stats/stats');
const { StatsHub, PUBLISH_EVERY_MS } = require('../../dist/lib/stats/hub');
const { cardState, FAILING_MS, LatestAnswer } = require('../../dist/lib/stats/view');

const GAUGES = {
  state: 'idle',
  api: 'v3',
  waiting: 0,
  inFlight: 0,
  parallel: 8,
  rateLimit: 0,
  tracked: 0,
  trackedNumbers: 0,
  trackLimit: 10000,
};

describe('sidebar counters (fake timers)', function () {
  let clock;
  beforeEach(() => {
    clock = FakeTimers.install({ now: Date.UTC(2026, 11, 1, 8, 0, 0), toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => clock.uninstall());

  describe('AccountStats', function () {
    it('counts since deploy and per 10-second bucket, and sums the last 5 minutes', function () {
      const stats = new AccountStats();
      stats.add('sent', 3);
      clock.tick(BUCKET_MS);
      stats.add('sent', 2);
      stats.add('delivered');
      clock.tick(6 * 60 * 1000);
      stats.add('sent');
      const picture = stats.picture('acc', 'Fleet', GAUGES);
      picture.total.should.eql({ sent: 6, delivered: 1 });
      picture.buckets.map((bucket) => bucket.counts.sent).should.eql([3, 2, 1]);
      lastCounts(picture.buckets, Date.now(), 5 * 60 * 1000).should.eql({ sent: 1 });
      lastCounts(picture.buckets, Date.now(), 10 * 60 * 1000).should.eql({ sent: 6, delivered: 1 });
    });

    it('keeps ten minutes of buckets and drops older ones', function () {
      const stats = new AccountStats();
      stats.add('sent');
      clock.tick(10 * 60 * 1000);
      stats.add('sent');
      const { buckets, total } = stats.picture('acc', 'Fleet', GAUGES);
      buckets.should.have.length(1);
      total.sent.should.equal(2);
    });

    it('counts failures by error code, timeouts apart', function () {
      const stats = new AccountStats();
      stats.failed('unknown', 'timeout');
      stats.failed('input', 'toInvalid');
      stats.failed('input', 'payloadHexOdd');
      const picture = stats.picture('acc', 'Fleet', GAUGES);
      picture.failedBy.should.eql({ unknown: 1, input: 2 });
      picture.total.should.eql({ failed: 3, timeouts: 1 });
      lastCounts(picture.buckets, Date.now(), 5 * 60 * 1000)['failed.input'].should.equal(2);
    });

    it('tells requests started in the last whole second', function () {
      const stats = new AccountStats();
      for (let i = 0; i < 7; i++) stats.requestStarted();
      clock.tick(1000);
      stats.picture('acc', 'Fleet', GAUGES).requestsPerSecond.should.equal(7);
      stats.requestStarted();
      clock.tick(1000);
      stats.picture('acc', 'Fleet', GAUGES).requestsPerSecond.should.equal(1);
      clock.tick(5000);
      stats.picture('acc', 'Fleet', GAUGES).requestsPerSecond.should.equal(0);
    });
  });

  describe("a card's state", function () {
    const stateOf = (stats, gauges = GAUGES) => cardState(stats.picture('acc', 'Fleet', gauges), Date.now());

    it('warns while the last minute brought failures and nothing was sent after them', function () {
      const stats = new AccountStats();
      stateOf(stats).should.eql({ state: 'idle', level: 'ok' });
      stats.failed('http');
      stateOf(stats).should.eql({ state: 'failing', level: 'warning' });
      clock.tick(1000);
      stats.add('sent');
      stateOf(stats).should.eql({ state: 'idle', level: 'ok' });
      clock.tick(1000);
      stats.add('rejected', 2);
      stateOf(stats).state.should.equal('failing');
      clock.tick(FAILING_MS - 1);
      stateOf(stats).state.should.equal('failing');
      clock.tick(1);
      stateOf(stats).state.should.equal('idle');
    });

    it('does not warn about an answer that sent to some destinations and had others rejected', function () {
      const stats = new AccountStats();
      stats.add('sent', 2);
      stats.add('rejected');
      stateOf(stats).state.should.equal('idle');
    });

    it('warns while every send fails, also while messages wait', function () {
      const stats = new AccountStats();
      stats.failed('network');
      stateOf(stats, { ...GAUGES, state: 'sending', waiting: 40, inFlight: 8 }).should.eql({
        state: 'failing',
        level: 'warning',
      });
    });

    it('warns while shared state (Redis) is unavailable', function () {
      const stats = new AccountStats();
      const shared = { available: false, self: 'host/1234', copies: ['host/1234'], polling: {} };
      stateOf(stats, { ...GAUGES, shared }).should.eql({ state: 'sharedDown', level: 'warning' });
      stateOf(stats, { ...GAUGES, state: 'sending', waiting: 3, shared }).state.should.equal('sharedDown');
      stateOf(stats, { ...GAUGES, shared: { ...shared, available: true } }).state.should.equal('idle');
    });

    it("puts closed, not set up and Infobip's pause first; a pause that ended shows what is going on", function () {
      const stats = new AccountStats();
      stats.failed('http');
      stateOf(stats, { ...GAUGES, state: 'notSetUp', problem: 'API key' }).should.eql({
        state: 'notSetUp',
        level: 'error',
      });
      stateOf(stats, { ...GAUGES, state: 'closed' }).state.should.equal('closed');
      const paused = { ...GAUGES, state: 'paused', pausedUntil: Date.now() + 5000, pauseStatus: 429 };
      stateOf(stats, paused).should.eql({ state: 'paused', level: 'warning' });
      clock.tick(FAILING_MS);
      stateOf(stats, paused).state.should.equal('idle');
    });
  });

  describe("the endpoint's answers in the editor", function () {
    it('keeps the later of two overlapping answers when the earlier one arrives last', function () {
      const hub = new StatsHub(() => {});
      let name = 'first';
      hub.add('acc', () => new AccountStats().picture('acc', name, GAUGES));
      const slow = hub.answer();
      name = 'second';
      const fast = hub.answer();
      const latest = new LatestAnswer();
      latest
        .accept(fast)
        .map((picture) => picture.name)
        .should.eql(['second']);
      should(latest.accept(slow)).be.undefined();
      should(latest.accept(fast)).be.undefined();
      latest.accept(hub.answer()).should.have.length(1);
    });

    it('stamps answers in order within one millisecond, and a restarted runtime later still', function () {
      const hub = new StatsHub(() => {});
      const stamps = [hub.answer().stamp, hub.answer().stamp, hub.answer().stamp];
      stamps.should.eql([...stamps].sort((a, b) => a - b));
      new Set(stamps).size.should.equal(3);
      const latest = new LatestAnswer();
      latest.accept(hub.answer()).should.be.an.Array();
      clock.tick(5000);
      const restarted = new StatsHub(() => {});
      latest.accept(restarted.answer()).should.be.an.Array();
    });

    it("reads times on the runtime's clock, also when the browser's is off", function () {
      // The runtime's clock runs two minutes behind the browser's.
      const hub = new StatsHub(
        () => {},
        () => Date.now() - 120_000,
      );
      const latest = new LatestAnswer();
      latest.accept(hub.answer());
      clock.tick(3000);
      latest.now().should.equal(Date.now() - 120_000);
    });

    it('ignores what is not an answer', function () {
      const latest = new LatestAnswer();
      for (const received of [undefined, [], { stamp: 1 }, { accounts: [] }, 'x']) {
        should(latest.accept(received)).be.undefined();
      }
    });
  });

  describe('StatsHub', function () {
    it('tells of changes at most once a second, and nothing while nothing changes', function () {
      const published = [];
      const hub = new StatsHub(() => published.push([Date.now()]));
      const stats = new AccountStats(() => hub.changed());
      hub.add('acc', () => stats.picture('acc', 'Fleet', GAUGES));
      clock.tick(0);
      published.should.have.length(1);
      for (let i = 0; i < 50; i++) {
        stats.add('sent');
        clock.tick(40);
      }
      // 2 s of changes: published once a second at most.
      published.length.should.be.within(2, 3);
      for (let i = 1; i < published.length; i++) {
        (published[i][0] - published[i - 1][0]).should.be.aboveOrEqual(PUBLISH_EVERY_MS);
      }
      clock.tick(2000);
      const settled = published.length;
      clock.tick(60_000);
      published.should.have.length(settled);
      stats.add('sent');
      clock.tick(0);
      published.should.have.length(settled + 1);
    });

    it('tells when an account leaves, and then pictures without it', function () {
      const published = [];
      const hub = new StatsHub(() => published.push(hub.pictures().map((picture) => picture.id)));
      const a = hub.add('a', () => new AccountStats().picture('a', 'A', GAUGES));
      hub.add('b', () => new AccountStats().picture('b', 'B', GAUGES));
      clock.tick(0);
      hub.remove(a);
      clock.tick(PUBLISH_EVERY_MS);
      published.should.eql([['a', 'b'], ['b']]);
    });

    it("keeps a redeployed account when its old node's close ends after the new node registered", function () {
      // A redeploy starts the new node while the old one may still be closing (a hanging request,
      // nodeCloseTimeout): both have the account's id; the old one's end must not remove the new.
      const hub = new StatsHub(() => {});
      const old = hub.add('acc', () => new AccountStats().picture('acc', 'before', GAUGES));
      const fresh = hub.add('acc', () => new AccountStats().picture('acc', 'after', GAUGES));
      hub.remove(old);
      hub
        .pictures()
        .map((picture) => picture.name)
        .should.eql(['after']);
      hub.remove(old);
      hub.pictures().should.have.length(1);
      hub.remove(fresh);
      hub.pictures().should.be.empty();
    });
  });
});
