'use strict';
// Three Node-RED processes running the same flows on one account and one real Redis, behind a
// round-robin balancer (Infobip's pushes reach any copy), against the stand-in Infobip.
require('should');
const { Cluster, REDIS_PASSWORD } = require('../../dev/cluster');
const { wait } = require('../../dev/wait');

const SILENT = '41793000111';
const REPLYING = '41793000188';

const countBy = (list, key) => {
  const counts = new Map();
  for (const item of list) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
};
const onceEach = (list, key) => [...countBy(list, key).values()].every((count) => count === 1);

describe('several Node-RED copies sharing one account through Redis', function () {
  this.timeout(180000);
  let cluster;

  afterEach(async function () {
    await cluster?.stop();
    cluster = undefined;
  });

  it('pushed reports and replies are emitted once in the cluster, each with msg.sent; only the silent message is overdue, once', async function () {
    cluster = await new Cluster({ flow: { overdue: 0.05 } }).start();
    cluster.server.silentNumbers.add(SILENT);
    cluster.server.pushTwice = true;
    await cluster.send(0, 4);
    await cluster.send(1, 4, { to: REPLYING });
    await cluster.send(2, 1, { to: SILENT, tag: 'silent' });
    const sent = await cluster.until('sent', (list) => list.length === 9);
    const reports = await cluster.until('reports', (list) => list.length >= 8);
    const replies = await cluster.until('replies', (list) => list.length >= 4);
    const overdue = await cluster.until('overdue', (list) => list.length >= 1);
    // Longer than the overdue check and a pushed retry take: nothing more comes.
    await wait(4000);
    const seen = await cluster.seen();
    const all = (kind) => seen.flatMap((copy) => copy[kind]);
    all('reports').should.have.length(8);
    onceEach(all('reports'), (report) => report.messageId).should.be.true();
    all('reports')
      .every((report) => typeof report.topic === 'string')
      .should.be.true();
    // Every copy's push route got reports (the balancer spreads them), and each was pushed twice.
    seen.filter((copy) => copy.reports.length > 0).length.should.be.above(1);
    all('replies').should.have.length(4);
    onceEach(all('replies'), (reply) => reply.messageId).should.be.true();
    all('replies')
      .every((reply) => /^c1-/.test(reply.topic))
      .should.be.true();
    all('overdue').should.eql([{ messageId: sent.find((m) => m.to === SILENT).messageId, topic: 'silent-0' }]);
    overdue.should.have.length(1);
    reports.length.should.equal(8);
    replies.length.should.equal(4);

    // The Redis URL is a password credential: not in the flows, the credentials the editor gets, or the logs.
    for (const copy of cluster.copies) {
      (await copy.request('GET', '/flows')).text.should.not.containEql(REDIS_PASSWORD);
      const credentials = await copy.request('GET', '/credentials/infobip-account/cl-acc');
      credentials.json.should.have.property('has_redisUrl', true);
      credentials.text.should.not.containEql(REDIS_PASSWORD);
      copy.output().should.not.containEql(REDIS_PASSWORD);
    }
    JSON.stringify(seen).should.not.containEql(REDIS_PASSWORD);
  });

  it('polling on every copy: one copy polls, each report is emitted once with msg.sent; stopping it hands polling over', async function () {
    cluster = await new Cluster({ flow: { mode: 'poll' } }).start();
    await Promise.all([cluster.send(0, 5), cluster.send(1, 5), cluster.send(2, 5)]);
    await cluster.until('reports', (list) => list.length >= 15);
    let seen = await cluster.seen();
    const pollers = seen.map((copy, index) => (copy.reports.length > 0 ? index : -1)).filter((index) => index >= 0);
    pollers.should.have.length(1);
    seen[pollers[0]].reports.every((report) => typeof report.topic === 'string').should.be.true();
    onceEach(seen[pollers[0]].reports, (report) => report.messageId).should.be.true();
    // The sidebar's card on every copy: three copies share the account, and they agree on which polls.
    const cards = async () =>
      Promise.all(
        cluster.copies.map(
          async (copy) => (await copy.request('GET', '/infobip-binary-sms/accounts')).json.accounts[0].shared,
        ),
      );
    // Each copy says it is there every 5 s.
    const deadline = Date.now() + 12000;
    while ((await cards()).some((card) => card.copies.length < 3) && Date.now() < deadline) await wait(500);
    const card = await cards();
    card.forEach((one) => one.copies.should.have.length(3));
    card.map((one) => one.polling.reports).should.eql(card.map(() => card[pollers[0]].self));
    new Set(card.map((one) => one.self)).size.should.equal(3);

    await cluster.stopCopy(pollers[0]);
    const others = [0, 1, 2].filter((index) => index !== pollers[0]);
    await Promise.all(others.map((index) => cluster.send(index, 5, { tag: `after${index}` })));
    const after = await cluster.until(
      'reports',
      (list) => list.filter((report) => /^after/.test(report.topic)).length >= 10,
      30000,
    );
    await wait(2000);
    seen = await cluster.seen();
    const reports = seen.flatMap((copy) => copy.reports);
    reports.should.have.length(10);
    after.should.have.length(10);
    onceEach(reports, (report) => report.messageId).should.be.true();
    seen.filter((copy) => copy.reports.length > 0).should.have.length(1);
  });

  it('Rate limit 100 holds for the cluster: 3 × 1000 messages against an account allowing 100 in any sliding second, at most 1 % answered 429, within 1.1 × the 30 s floor', async function () {
    cluster = await new Cluster({
      server: { ratePerSecond: 100, rateWindow: 'sliding' },
      flow: { rateLimit: 100 },
    }).start();
    const started = Date.now();
    await Promise.all([0, 1, 2].map((index) => cluster.send(index, 1000)));
    const sent = await cluster.until('sent', (list) => list.length >= 3000, 60000);
    const seconds = (Date.now() - started) / 1000;
    const { throttled } = cluster.server;
    console.log(
      `      3 × 1000 messages at Rate limit 100 (Redis): ${seconds.toFixed(1)} s (floor 30 s), ${throttled} answered 429`,
    );
    (await cluster.all('failed')).should.have.length(0);
    onceEach(sent, (message) => message.topic).should.be.true();
    sent.should.have.length(3000);
    cluster.server.accepted().length.should.equal(3000);
    throttled.should.be.belowOrEqual(30);
    seconds.should.be.belowOrEqual(33);
  });

  it('Redis stopped in the middle of a burst and started again: every input ends once, one warning per copy, sharing resumes', async function () {
    cluster = await new Cluster({ flow: { rateLimit: 100 } }).start();
    await Promise.all([0, 1, 2].map((index) => cluster.send(index, 200)));
    await cluster.until('sent', (list) => list.length >= 100);
    await cluster.redis.stop();
    await wait(1500);
    await cluster.redis.start();
    const sent = await cluster.until('sent', (list) => list.length >= 600, 60000);
    await wait(500);
    const failed = await cluster.all('failed');
    (sent.length + failed.length).should.equal(600);
    onceEach([...sent, ...failed], (message) => message.topic).should.be.true();
    failed.should.have.length(0);
    // Each copy said so in its status while Redis was away, and is green again since.
    for (const { statuses } of await cluster.seen()) {
      const down = statuses.findIndex(
        (status) => status.fill === 'yellow' && /shared state unavailable/.test(status.text),
      );
      down.should.be.aboveOrEqual(0);
      statuses
        .slice(down + 1)
        .some((status) => status.fill === 'green')
        .should.be.true();
    }
    for (const copy of cluster.copies) {
      (copy.output().match(/Shared state unavailable/g) ?? []).should.have.length(1);
      copy.output().should.not.containEql(REDIS_PASSWORD);
      copy.output().should.not.containEql(`127.0.0.1:${cluster.redis.port}`);
    }
    // Sharing again: what a copy sends now is tracked in Redis, and a report pushed to another copy finds it.
    await cluster.send(0, 3, { tag: 'again' });
    const reports = await cluster.until(
      'reports',
      (list) => list.filter((report) => report.topic?.startsWith('again')).length >= 3,
    );
    reports.filter((report) => report.topic?.startsWith('again')).should.have.length(3);
    const pushedTo = new Set(
      cluster.balancer.forwarded
        .filter((entry) => entry.path.startsWith('/api/cl/reports'))
        .slice(-3)
        .map((entry) => entry.target),
    );
    pushedTo.size.should.be.above(1);
  });

  it('Daily limit 100 for the cluster: three copies sending 3 × 60 at once admit exactly 100, the rest refused whole with code limit', async function () {
    cluster = await new Cluster({ flow: { dailyLimit: 100 } }).start();
    await Promise.all([0, 1, 2].map((index) => cluster.send(index, 60)));
    const failed = await cluster.until('failed', (list) => list.length >= 80, 60000);
    const sent = await cluster.until('sent', (list) => list.length >= 100, 60000);
    await wait(1000);
    sent.should.have.length(100);
    (await cluster.all('failed')).should.have.length(80);
    failed.every((entry) => /Daily limit of 100 SMS parts reached/.test(entry.error)).should.be.true();
    cluster.server.accepted().length.should.equal(100);
  });

  it('the daily limit without Redis survives a restart: its count is kept in a file under the user directory', async function () {
    cluster = await new Cluster({ copies: 1, redis: false, flow: { dailyLimit: 5 } }).start();
    await cluster.send(0, 4, { tag: 'before' });
    await cluster.until('sent', (list) => list.length === 4);
    await cluster.stopCopy(0);
    await cluster.startCopy(0);
    await cluster.deploy({ dailyLimit: 5 });
    await cluster.send(0, 2, { tag: 'after' });
    const failed = await cluster.until('failed', (list) => list.length >= 1);
    await wait(500);
    failed.map((entry) => entry.topic).should.eql(['after-1']);
    failed[0].error.should.match(
      /Daily limit of 5 SMS parts reached: 5 were sent in the last 24 hours and this message needs 1/,
    );
    cluster.server.accepted().length.should.equal(5);
  });

  it('restarting every copy: tracking survives in Redis without a context store', async function () {
    cluster = await new Cluster({ flow: { mode: 'poll' }, server: {} }).start();
    cluster.server.holdReports = true;
    await cluster.send(0, 3, { tag: 'before' });
    await cluster.until('sent', (list) => list.length === 3);
    await Promise.all([0, 1, 2].map((index) => cluster.stopCopy(index)));
    await Promise.all([0, 1, 2].map((index) => cluster.startCopy(index)));
    await cluster.deploy({ mode: 'poll' });
    cluster.server.releaseReports();
    const reports = await cluster.until('reports', (list) => list.length >= 3);
    reports
      .map((report) => report.topic)
      .sort()
      .should.eql(['before-0', 'before-1', 'before-2']);
  });
});
