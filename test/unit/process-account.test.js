'use strict';
// The process-wide account that account nodes with the same credentials share: poll turns,
// routing of what is received, memories readable by all (also while an account node restarts),
// and the last message sent to a number whichever account node sent it.
const should = require('should');
const { ProcessAccount } = require('../../dist/lib/account/process-account');
const { Tracker } = require('../../dist/lib/track/tracker');
const { processMemory } = require('../../dist/lib/track/process-memory');

let made = 0;
/** An account node as the process account sees it, with its own memories. */
function view(id) {
  const trackers = {};
  return {
    id,
    addSecret: () => undefined,
    ownTracking: (by, make = true) =>
      make
        ? (trackers[by] ??= new Tracker(processMemory(`process-account-test-${++made}`), undefined, {
            limit: 100,
            owner: 'me',
            account: id,
            by,
            warn: () => undefined,
          }))
        : trackers[by],
  };
}
const sent = (messageId, to, topic, at = Date.now()) => ({ messageId, to, sent: { topic }, at });

describe('ProcessAccount', function () {
  it("a restarted node's late release never hands back its successor's turn to poll", async function () {
    const account = new ProcessAccount('test');
    const old = account.pollTurn('reports');
    (await old.mine()).should.be.true();
    // The node restarted: its new self asks for a turn before the old one has finished closing.
    const successor = account.pollTurn('reports');
    await old.release();
    (await successor.mine()).should.be.true();
  });

  it('routes each report to a node of the account node that sent it; a node that stops first emits what it was handed', async function () {
    const account = new ProcessAccount('test');
    const [x, y] = [view('x'), view('y')];
    account.join(x);
    account.join(y);
    account.useTracking('rep-x', 'x', 'messageId');
    account.useTracking('rep-y', 'y', 'messageId');
    x.ownTracking('messageId').track(sent('m-x', '41790000001', 'from x'));
    y.ownTracking('messageId').track(sent('m-y', '41790000002', 'from y'));
    const emitted = { x: [], y: [] };
    let finishY;
    account.receive('reports', 'rep-x', 'x', async (items) => emitted.x.push(...items));
    const stopY = account.receive('reports', 'rep-y', 'y', async (items) => {
      await new Promise((resolve) => (finishY = resolve));
      emitted.y.push(...items);
    });
    const own = async (items) => emitted.x.push(...items);
    const routing = account.route('reports', [{ messageId: 'm-x' }, { messageId: 'm-y' }], own);
    await new Promise((resolve) => setImmediate(resolve));
    let stopped = false;
    const stopping = stopY().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    // Its stop waits for what it was handed.
    stopped.should.be.false();
    finishY();
    await Promise.all([routing, stopping]);
    emitted.x.map((item) => item.messageId).should.eql(['m-x']);
    emitted.y.map((item) => item.messageId).should.eql(['m-y']);
    // Stopped: what its account node sent now goes to the node that received it.
    await account.route('reports', [{ messageId: 'm-y' }], own);
    emitted.x.map((item) => item.messageId).should.eql(['m-x', 'm-y']);
  });

  it("an account node's memory stays readable while it restarts, until the flows have started", async function () {
    const account = new ProcessAccount('test');
    const [x, y] = [view('x'), view('y')];
    const leaveX = account.join(x);
    account.join(y);
    account.useTracking('rep-y', 'y', 'messageId');
    x.ownTracking('messageId').track(sent('m-x', '41790000001', 'from x'));
    const tracking = account.tracking('y', 'messageId');
    leaveX();
    (await tracking.lookup('m-x')).sent.topic.should.equal('from x');
    account.flowsStarted();
    should(await tracking.lookup('m-x')).be.undefined();
  });

  it('by number: the last message sent to a number, whichever account node sent it', async function () {
    const account = new ProcessAccount('test');
    const [x, y] = [view('x'), view('y')];
    account.join(x);
    account.join(y);
    account.useTracking('in-x', 'x', 'number');
    account.useTracking('in-y', 'y', 'number');
    x.ownTracking('number').track(sent('m1', '41790000001', 'x at 10:00', Date.now() - 300_000));
    y.ownTracking('number').track(sent('m2', '41790000001', 'y at 10:05'));
    (await account.tracking('x', 'number').lookup('41790000001')).sent.topic.should.equal('y at 10:05');
    const emitted = { x: [], y: [] };
    account.receive('inbound', 'in-x', 'x', async (items) => emitted.x.push(...items));
    account.receive('inbound', 'in-y', 'y', async (items) => emitted.y.push(...items));
    await account.route('inbound', [{ from: '41790000001', text: 'ACK' }], async (items) => emitted.x.push(...items));
    emitted.x.should.be.empty();
    emitted.y.should.have.length(1);
  });
});
