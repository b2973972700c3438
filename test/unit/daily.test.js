'use strict';
// The daily limit: the rolling 24 hours with fake timers, its counts kept across restarts, and the
// cluster's count in a real Redis under concurrent takes.
require('should');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const FakeTimers = require('@sinonjs/fake-timers');
const { RollingDay, MINUTE_MS, WINDOW_MINUTES } = require('../../dist/lib/daily');
const { LocalDaily, fileCounts } = require('../../dist/lib/account/daily-store');
const { SharedDaily } = require('../../dist/lib/shared/daily');
const { SharedState } = require('../../dist/lib/shared/redis');
const { RedisServer } = require('../../dev/redis-server');

const HOUR = 3600_000;

describe('the daily limit over a rolling 24 hours (fake timers)', function () {
  let clock;
  beforeEach(() => {
    clock = FakeTimers.install({
      now: Date.UTC(2026, 11, 5, 8, 0, 30),
      toFake: ['setTimeout', 'clearTimeout', 'Date'],
    });
  });
  afterEach(() => clock.uninstall());

  it('admits up to the limit, all or nothing, and refuses what would cross it', function () {
    const day = new RollingDay(10);
    day.take(4).admitted.should.be.true();
    day.take(6).should.containEql({ admitted: true, used: 10 });
    const refused = day.take(1);
    refused.should.containEql({ admitted: false, used: 10, limit: 10 });
    day.used().should.equal(10);
  });

  it('room frees 24 hours after the minute it was used in has ended — never earlier — and the refusal says when', function () {
    const day = new RollingDay(3);
    const first = Date.now();
    day.take(2);
    clock.tick(5 * HOUR);
    day.take(1);
    const refused = day.take(2);
    // Two parts must leave: the minute of the first take's.
    refused.freesAt.should.equal((Math.floor(first / MINUTE_MS) + WINDOW_MINUTES) * MINUTE_MS);
    (refused.freesAt - first).should.be.aboveOrEqual(24 * HOUR);
    (refused.freesAt - first).should.be.belowOrEqual(24 * HOUR + MINUTE_MS);
    clock.setSystemTime(refused.freesAt - 1);
    day.take(2).admitted.should.be.false();
    clock.setSystemTime(refused.freesAt);
    day.take(2).admitted.should.be.true();
    // The take 5 hours later still counts.
    day.used().should.equal(3);
  });

  it('a take larger than the limit never fits: no time is named', function () {
    const day = new RollingDay(3);
    const refused = day.take(4);
    refused.admitted.should.be.false();
    (refused.freesAt === undefined).should.be.true();
  });

  it('gives back what was not sent, and keeps only the minutes still in the window', function () {
    const day = new RollingDay(5);
    const { minute } = day.take(3);
    day.giveBack(minute, 3);
    day.used().should.equal(0);
    day.take(5).admitted.should.be.true();
    clock.tick(25 * HOUR);
    day.counts().should.eql([]);
    day.take(5).admitted.should.be.true();
  });

  it('starts again from saved counts', function () {
    const before = new RollingDay(5);
    before.take(4);
    clock.tick(HOUR);
    const after = new RollingDay(5, before.counts());
    after.take(2).admitted.should.be.false();
    after.take(1).admitted.should.be.true();
  });
});

describe('the daily count in a file', function () {
  it('is saved a second after a change and at close, and read back by the next start', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daily-'));
    const file = path.join(dir, 'nested', 'daily-acc.json');
    const first = new LocalDaily(3, fileCounts(file), () => {});
    (await first.take(2)).admitted.should.be.true();
    await first.close();
    JSON.parse(fs.readFileSync(file, 'utf8'))
      .flatMap(([, parts]) => [parts])
      .should.eql([2]);
    const second = new LocalDaily(3, fileCounts(file), () => {});
    (await second.take(2)).admitted.should.be.false();
    (await second.take(1)).admitted.should.be.true();
    await second.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a file that cannot be read starts from nothing', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daily-'));
    const file = path.join(dir, 'daily.json');
    fs.writeFileSync(file, 'not json');
    const daily = new LocalDaily(1, fileCounts(file), () => {});
    (await daily.take(1)).admitted.should.be.true();
    await daily.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('the daily limit of several copies, in a real Redis', function () {
  this.timeout(20000);
  let redis;
  const states = [];
  before(async function () {
    redis = await new RedisServer({ password: 'redis-secret-pw' }).start();
  });
  after(async () => {
    await Promise.all(states.map((state) => state.close()));
    redis.destroy();
  });
  const copy = async () => {
    const state = new SharedState({ url: redis.url, prefix: 'infobip-binary-sms:daily-test:', changed: () => {} });
    states.push(state);
    await state.connected;
    const own = new LocalDaily(100, { load: async () => [], save: async () => {} }, () => {});
    return new SharedDaily(state, own, 'acc');
  };

  it('three copies taking at once admit exactly the limit, never more; what is given back is room again', async function () {
    const copies = await Promise.all([copy(), copy(), copy()]);
    const answers = await Promise.all(Array.from({ length: 150 }, (_, index) => copies[index % 3].take(1)));
    answers.filter((answer) => answer.admitted).should.have.length(100);
    answers
      .filter((answer) => !answer.admitted)
      .every((answer) => answer.used === 100)
      .should.be.true();
    (await copies[2].take(1)).admitted.should.be.false();
    const given = answers.find((answer) => answer.admitted);
    given.shared.should.be.true();
    copies[0].giveBack(given.minute, 1, given.shared);
    await new Promise((resolve) => setTimeout(resolve, 50));
    (await copies[1].take(1)).admitted.should.be.true();
    (await copies[2].take(1)).admitted.should.be.false();
    await Promise.all(copies.map((daily) => daily.close()));
  });
});
