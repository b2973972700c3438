'use strict';
// Looking lost answers up in Infobip's logs, with fake timers: when lookups come, how many ids
// each names, and how they are paced by the account's pipeline.
require('should');
const FakeTimers = require('@sinonjs/fake-timers');
const crypto = require('node:crypto');
const { Resolver, FIRST_WAIT_MS, LONGEST_WAIT_MS, MAX_QUERY_CHARS } = require('../../dist/lib/send/resolver');
const { LostAnswer } = require('../../dist/lib/send/lost');
const { Pipeline } = require('../../dist/lib/send/pipeline');
const { SmsError } = require('../../dist/lib/errors');

/** A resolver whose lookups answer what `logs` holds (ids → entries) after 10 ms, recorded with their time. */
function harness(options = {}) {
  const logs = new Map();
  const lookups = [];
  const ignored = [];
  const resolver = new Resolver({
    lookup: (ids) => {
      lookups.push({ ids, at: performance.now() });
      return new Promise((resolve, reject) =>
        setTimeout(() => {
          if (options.failing) reject(options.failing);
          else
            resolve(options.answer ? options.answer(ids) : ids.filter((id) => logs.has(id)).map((id) => logs.get(id)));
        }, 10),
      );
    },
    ignored: (count) => ignored.push(count),
    ...options.resolver,
  });
  const outcomes = [];
  const resolve = (ids, windowMs, name = ids.join()) => {
    const outcome = { name, found: [], ended: undefined, at: undefined };
    outcomes.push(outcome);
    const handle = resolver.resolve(ids, windowMs, {
      found: (entries) => outcome.found.push(...entries.map((entry) => entry.messageId)),
      end: (missing, failure) => {
        outcome.ended = { missing, failure };
        outcome.at = performance.now();
      },
    });
    return { outcome, handle };
  };
  const log = (id) => logs.set(id, { messageId: id, destination: '41793026727', status: { groupName: 'PENDING' } });
  return { resolver, lookups, ignored, resolve, log };
}

describe('Resolver (fake timers)', function () {
  let clock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  });
  afterEach(() => clock.uninstall());

  it('looks up about a second after the failure, then after waits that double, and a last time when the window closes', async function () {
    const { lookups, resolve } = harness();
    const { outcome } = resolve(['a'], 60_000);
    await clock.tickAsync(59_000);
    outcome.should.have.property('ended', undefined);
    await clock.tickAsync(2_000);
    // 1 s, then +2, +4, +8, +16 (each after the last answer, 10 ms later), then the window's end.
    lookups.map((lookup) => Math.round(lookup.at / 10) * 10).should.eql([1000, 3010, 7020, 15030, 31040, 60000]);
    outcome.ended.missing.should.eql(['a']);
    (outcome.at >= 60_000).should.be.true();
  });

  it('waits at most LONGEST_WAIT_MS between lookups', async function () {
    const { lookups, resolve } = harness();
    resolve(['a'], 300_000);
    await clock.tickAsync(301_000);
    const gaps = lookups.slice(1).map((lookup, index) => lookup.at - lookups[index].at);
    Math.max(...gaps).should.be.belowOrEqual(LONGEST_WAIT_MS + 10);
    gaps.filter((gap) => gap >= LONGEST_WAIT_MS).length.should.be.above(5);
    lookups[0].at.should.equal(FIRST_WAIT_MS);
  });

  it('ends as soon as every id was found, with what was found', async function () {
    const { lookups, resolve, log } = harness();
    const { outcome } = resolve(['a', 'b'], 60_000);
    log('a');
    await clock.tickAsync(1_500);
    outcome.found.should.eql(['a']);
    outcome.should.have.property('ended', undefined);
    log('b');
    await clock.tickAsync(2_000);
    outcome.found.should.eql(['a', 'b']);
    outcome.ended.missing.should.be.empty();
    // The second lookup asked only for what was still missing.
    lookups[1].ids.should.eql(['b']);
    await clock.tickAsync(60_000);
    lookups.should.have.length(2);
  });

  it('names every id waiting in one lookup, as many as fit a request; the rest go in the next ones', async function () {
    const { lookups, resolve } = harness();
    const ids = Array.from({ length: 400 }, () => crypto.randomUUID());
    for (const id of ids) resolve([id], 10_000);
    await clock.tickAsync(1_005);
    const perLookup = Math.floor(MAX_QUERY_CHARS / `messageId=${ids[0]}&`.length);
    lookups.should.have.length(Math.ceil(400 / perLookup));
    lookups
      .flatMap((lookup) => lookup.ids)
      .sort()
      .should.eql([...ids].sort());
    for (const lookup of lookups) {
      new URLSearchParams(lookup.ids.map((id) => ['messageId', id]))
        .toString()
        .length.should.be.belowOrEqual(MAX_QUERY_CHARS);
    }
  });

  it('tops a due lookup up with whole resolutions that are not due yet, which then wait longer', async function () {
    const { lookups, resolve } = harness();
    resolve(['early'], 60_000);
    await clock.tickAsync(500);
    resolve(['late'], 60_000);
    await clock.tickAsync(520);
    lookups.should.have.length(1);
    lookups[0].ids.should.eql(['early', 'late']);
    await clock.tickAsync(2_000);
    // Both were looked up together again, 2 s after the first answer.
    lookups.should.have.length(2);
    lookups[1].ids.should.eql(['early', 'late']);
  });

  it('a lookup that fails is tried at the next wait; the last one failing ends with its failure', async function () {
    const failure = new SmsError('http', { status: 500 });
    const { lookups, resolve } = harness({ failing: failure });
    const { outcome } = resolve(['a'], 5_000);
    await clock.tickAsync(6_000);
    lookups.length.should.be.above(2);
    outcome.ended.missing.should.eql(['a']);
    outcome.ended.failure.should.equal(failure);
  });

  it('entries for ids not asked for, or without an id, are ignored and said once per answer', async function () {
    const { ignored, resolve } = harness({
      answer: (ids) => [{ messageId: 'other' }, { destination: '4179' }, 'junk', { messageId: ids[0] }],
    });
    const { outcome } = resolve(['a'], 5_000);
    await clock.tickAsync(1_100);
    outcome.found.should.eql(['a']);
    ignored.should.eql([3]);
  });

  it('stop ends a resolution at once, with the reason; it is looked up no more', async function () {
    const { lookups, resolve } = harness();
    const { outcome, handle } = resolve(['a'], 60_000);
    await clock.tickAsync(1_100);
    handle.stop('closing');
    outcome.ended.should.eql({ missing: ['a'], failure: 'closing' });
    await clock.tickAsync(60_000);
    lookups.should.have.length(1);
  });

  it('lookups through the pipeline are paced by its Rate limit', async function () {
    const pipeline = new Pipeline(
      { concurrency: 8, ratePerSecond: 2, queueLimit: 0, retries: 0, throttleWaitMs: 60_000 },
      () => Promise.reject(new Error('no sends here')),
    );
    const times = [];
    const resolver = new Resolver({
      lookup: (ids) =>
        pipeline.perform(async () => {
          times.push(performance.now());
          return ids.map((id) => ({ messageId: id }));
        }),
      ignored: () => {},
      // One id per lookup: five lookups due at once.
      maxQueryChars: 1,
    });
    let found = 0;
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      resolver.resolve([id], 60_000, { found: () => found++, end: () => {} });
    }
    await clock.tickAsync(5_000);
    found.should.equal(5);
    times.should.have.length(5);
    // Rate limit 2/s, planned at 95 %: each start at least 1 / 1.9 s after the last.
    times.slice(1).forEach((at, index) => (at - times[index]).should.be.aboveOrEqual(1000 / 1.9 - 1));
  });
});

describe('LostAnswer (fake timers)', function () {
  let clock;
  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  });
  afterEach(() => clock.uninstall());

  const request = (to, parts) => ({
    to,
    binary: { hex: 'ab', dataCoding: 4, esmClass: 64 },
    messageIds: to.map((number) => `id-${number}`),
    sentAt: Date.now(),
    ...(parts ? { parts: Array.from({ length: parts }, () => 'ab') } : {}),
  });

  function track(resolverHarness, req, idempotent, resendAnswer) {
    const events = [];
    const resends = [];
    new LostAnswer(
      req,
      req.to,
      new SmsError('timeout', { seconds: 1 }),
      { windowMs: 5_000, timeoutMs: 1_000, idempotent, resolver: resolverHarness.resolver },
      {
        found: (destinations, result, ids, by) =>
          events.push({ found: destinations, ids, by, entries: result.body.messages, bulkId: result.body.bulkId }),
        resend: (again, ids, listener) => {
          resends.push({ again, ids });
          setTimeout(() => listener(...resendAnswer(again, ids)), 50);
          return { settled: false };
        },
        end: (unknown) => events.push({ end: unknown }),
      },
    );
    return { events, resends };
  }

  it('idempotency off: never sends again; the destinations not found end unknown at the window with the parts missing', async function () {
    const logs = harness();
    logs.log('id-1');
    logs.log('id-2.2');
    const { events, resends } = track(logs, request(['1', '2'], 2), false);
    await clock.tickAsync(6_000);
    resends.should.be.empty();
    const end = events.at(-1).end;
    end.destinations.should.eql(['1', '2']);
    end.missingParts.should.eql({ 1: [2], 2: [1] });
    end.resent.should.be.false();
  });

  it('idempotency on: sends only the parts not found, with their ids; their answer ends them', async function () {
    const logs = harness();
    logs.log('id-1');
    const answer = (again, ids) => [
      undefined,
      {
        statusCode: 200,
        body: { messages: ids.map((id) => ({ messageId: id, destination: '1', status: { groupName: 'PENDING' } })) },
      },
    ];
    const { events, resends } = track(logs, { ...request(['1'], 2), bulkId: 'own-bulk' }, true, answer);
    await clock.tickAsync(6_000);
    // A scheduled message's outputs keep its bulk.
    events[0].bulkId.should.equal('own-bulk');
    resends.should.have.length(1);
    resends[0].ids.should.eql(['id-1.2']);
    [...resends[0].again.only].should.eql(['id-1.2']);
    events[0].found.should.eql(['1']);
    events[0].by.should.equal('resend');
    events[0].entries.map((entry) => entry.messageId).should.eql(['id-1', 'id-1.2']);
    events.at(-1).should.eql({ end: undefined });
  });

  it('a resend whose answer is lost too is looked up for one more window, then ends unknown; never a third send', async function () {
    const logs = harness();
    const lost = () => [new SmsError('timeout', { seconds: 1 })];
    const { events, resends } = track(logs, request(['1']), true, lost);
    await clock.tickAsync(12_000);
    resends.should.have.length(1);
    const end = events.at(-1).end;
    end.resent.should.be.true();
    end.cause.key.should.equal('timeout');
    // One window before the resend, one after it.
    const lastLookup = logs.lookups.at(-1).at;
    lastLookup.should.be.aboveOrEqual(10_000);
  });

  it('a resend that could not start in time is not sent: it ends unknown, saying so, and is never looked up again', async function () {
    const logs = harness();
    const tooLate = () => [new SmsError('resendTooLate')];
    const sent = request(['1']);
    const { events, resends } = track(logs, sent, true, tooLate);
    await clock.tickAsync(6_000);
    resends.should.have.length(1);
    // It must start within the window (5 s) and twice Timeout (1 s) after the first send.
    resends[0].again.startBy.should.equal(sent.sentAt + 7_000);
    const lookups = logs.lookups.length;
    await clock.tickAsync(20_000);
    logs.lookups.length.should.equal(lookups);
    const end = events.at(-1).end;
    end.tooLate.should.be.true();
    end.resent.should.be.false();
  });

  it('logs that cannot be read: never sends again, ends with why', async function () {
    const failure = new SmsError('http', { status: 500 });
    const logs = harness({ failing: failure });
    const { events, resends } = track(logs, request(['1']), true);
    await clock.tickAsync(6_000);
    resends.should.be.empty();
    events.at(-1).end.logsFailure.should.equal(failure);
  });
});
