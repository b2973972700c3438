#!/usr/bin/env node
// Part of `npm run bench` (run with --expose-gc): the binary-sms node in Node-RED's runtime
// (node-red-node-test-helper) against the local Infobip stand-in, measuring
//   - fan-out: one message to 10,000 destinations, as an array and as a string: time and the
//     longest event-loop stall (perf_hooks.monitorEventLoopDelay);
//   - holding a burst: heap per message while 20,000 device commands (140-byte Buffers, two
//     numbers) wait behind a slow account, beside core's delay node holding the same burst; and
//     the RSS growth of a 20,000-message burst with the account's default settings;
//   - delivery reports: 10,000 reports pushed to the webhook in buckets of 100 (reports/s and
//     the longest stall), and the heap of 10,000 tracked messages;
//   - inbound SMS: 10,000 replies from 10,000 tracked numbers pushed to the inbound node's
//     webhook in buckets of 100 (messages/s and the longest stall), beside core's http in and a
//     Function node splitting the same bodies.
'use strict';
const { fork } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const {
  helper,
  binarySms,
  binarySmsReport,
  infobipSmsIn,
  inboundFlow,
  httpNodeApp,
  infobipAccount,
  catchNode,
  smsFlow,
  reportFlow,
  CREDENTIALS,
} = require('../test/support/runtime');
const { requireFromNodeRed } = require('../dev/node-red-under-test');

const delayNode = requireFromNodeRed('@node-red/nodes/core/function/89-delay.js');
const httpInNode = requireFromNodeRed('@node-red/nodes/core/network/21-httpin.js');
const functionNode = requireFromNodeRed('@node-red/nodes/core/function/10-function.js');
const { API_KEY } = require('../test/support/runtime');

const DESTINATIONS = 10000;
const BURST = 20000;
const TRACKED = 10000;
/** Tracked messages the overdue check runs over in its figure. */
const OVERDUE_TRACKED = 100_000;
const REPORTS = 10000;
const INBOUND = 10000;

/**
 * helper.load without the test helper's recording: it spies on every call of a node's
 * send/status/log methods with sinon (on the prototype, and so on each wired node's own copy of
 * send), which a
 * user's Node-RED does not, and a spy keeps every call's arguments and stack. Those spies are
 * removed so that only the nodes and Node-RED are measured.
 */
async function loadUnspied(nodes, flow, credentials) {
  await helper.load(nodes, flow, credentials);
  helper._sandbox.restore();
  for (const { id } of flow) {
    const node = helper.getNode(id);
    // Node-RED copies the prototype's send (then the helper's spy) onto each wired node.
    if (node && Object.prototype.hasOwnProperty.call(node, 'send') && node.send.getCall) {
      node.send = Object.getPrototypeOf(node).send;
    }
  }
}

async function load(server, accountOverrides = {}) {
  await loadUnspied(
    [infobipAccount, binarySms, catchNode],
    smsFlow(server.baseUrl, { to: '' }, accountOverrides),
    CREDENTIALS,
  );
}

/** Resolves when `count` messages reached the `out` helper (or an error the `caught` one). */
function arrivals(count) {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const one = () => ++seen === count && resolve();
    helper.getNode('out').on('input', one);
    helper.getNode('caught').on('input', (msg) => reject(new Error(msg.error.message)));
  });
}

async function fanOut(server, to) {
  await load(server);
  const done = arrivals(Array.isArray(to) ? to.length : DESTINATIONS);
  const stalls = monitorEventLoopDelay({ resolution: 5 });
  stalls.enable();
  const started = process.hrtime.bigint();
  helper.getNode('sms').receive({ payload: '0f c2 4a', to });
  await done;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  stalls.disable();
  await helper.unload();
  return { ms, maxStallMs: stalls.max / 1e6 };
}

/**
 * One v3 message to 10,000 numbers whose answer never comes in time (the stand-in answers after
 * 3 s, the account waits 1 s): the time from the send to its "delivery unknown" error and the heap
 * it leaves (after a full collection), with an inbound node on the account (every number is then
 * remembered for its reply) or without one.
 */
async function unknownFanOut(numbers, withInbound) {
  const child = fork(path.join(__dirname, 'server.js'), [], { env: { ...process.env, API_KEY, DELAY_MS: '3000' } });
  const server = await new Promise((resolve) => child.once('message', resolve));
  const account = { api: 'v3', timeout: 1 };
  const flow = withInbound
    ? inboundFlow(server.baseUrl, { interval: 3600 }, account, { to: '' })
    : smsFlow(server.baseUrl, { to: '' }, account);
  await loadUnspied([infobipAccount, binarySms, infobipSmsIn, catchNode], flow, CREDENTIALS);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = heapAfterGc();
  const failed = new Promise((resolve) => helper.getNode('caught').once('input', resolve));
  const started = process.hrtime.bigint();
  helper.getNode('sms').receive({ payload: '0f c2 4a', to: numbers, topic: 'unknown fan-out' });
  const error = await failed;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const heap = heapAfterGc() - before;
  const remembered = Object.keys(error.messageIds ?? {}).length;
  await helper.unload();
  child.kill();
  return { ms, heap, remembered };
}

function heapAfterGc() {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
}

const message = (seq) => ({ payload: Buffer.from([seq >> 8, seq & 0xff, 0x0f]), to: '41793026727', seq });

const HELD = 20000;
/** What a user's device command looks like: 140 bytes (one full SMS) for two numbers. */
const heldMessage = (seq) => ({
  payload: Buffer.alloc(140, seq & 0xff),
  to: ['41793026727', '41793026834'],
  seq,
});

/**
 * Heap per message while a burst waits: 20,000 device commands fed to a node that can pass on
 * one a second, after a full collection, the messages themselves included (they are made in the
 * loop, as a flow makes them). `flow` is the node under test wired to the `out` helper.
 */
async function heldBytes(nodes, flow) {
  await loadUnspied(nodes, flow, CREDENTIALS);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = heapAfterGc();
  const node = helper.getNode('held');
  for (let seq = 0; seq < HELD; seq++) node.receive(heldMessage(seq));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const perMessage = (heapAfterGc() - before) / HELD;
  await helper.unload();
  // Let what closing the flow ended (errors, timers) run and be collected before the next measurement.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  heapAfterGc();
  return perMessage;
}

/** The same burst held by binary-sms behind a slow account (Parallel 1, 1 request/s) and by core's delay node (rate limit 1/s). */
async function heldBurst(server) {
  const tab = { id: 'tab1', type: 'tab', label: 'held' };
  const out = { id: 'out', type: 'helper', z: 'tab1' };
  const sms = smsFlow(server.baseUrl, {}, { api: 'v3', concurrency: 1, rateLimit: 1 })
    .filter((node) => node.id !== 'sms')
    .concat({ id: 'held', type: 'binary-sms', z: 'tab1', account: 'acc1', to: '', wires: [['out']] });
  const delay = [
    tab,
    {
      id: 'held',
      type: 'delay',
      z: 'tab1',
      pauseType: 'rate',
      rate: '1',
      nbRateUnits: '1',
      rateUnits: 'second',
      drop: false,
      wires: [['out']],
    },
    out,
  ];
  // Core first: closing binary-sms ends 20,000 held messages in errors, which must not land in core's figure.
  const core = await heldBytes([delayNode], delay);
  const ours = await heldBytes([infobipAccount, binarySms, catchNode], sms);

  return { ours, core };
}

const SOAK_SECONDS = 30;
const SOAK_RATE = 200;

/**
 * A steady 200 messages/s for 30 s at a stand-in answering a share `faultRate` of sends 503 at
 * random (no Retry-After): statuses per second during the feed, whether every input ended once,
 * and the heap after a full collection before and after.
 */
async function soak(faultRate) {
  const child = fork(path.join(__dirname, 'server.js'), [], {
    env: { ...process.env, API_KEY, FAULT_RATE: String(faultRate) },
  });
  const server = await new Promise((resolve) => child.once('message', resolve));
  await load(server);
  const endings = new Map();
  let outputsInWindow = 0;
  let feeding = true;
  const ended = (msg) => {
    endings.set(msg.seq, (endings.get(msg.seq) ?? 0) + 1);
    if (feeding) outputsInWindow++;
  };
  helper.getNode('out').on('input', ended);
  helper.getNode('caught').on('input', ended);
  const heapBefore = heapAfterGc();
  const sms = helper.getNode('sms');
  let seq = 0;
  const total = SOAK_RATE * SOAK_SECONDS;
  await new Promise((resolve) => {
    const feeder = setInterval(() => {
      for (let i = 0; i < SOAK_RATE / 20 && seq < total; i++)
        sms.receive({ payload: '0f c2', to: '41793026727', seq: seq++ });
      if (seq >= total) {
        clearInterval(feeder);
        resolve();
      }
    }, 50);
  });
  feeding = false;
  const deadline = Date.now() + 30_000;
  while (endings.size < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const heapAfter = heapAfterGc();
  await helper.unload();
  child.kill();
  return {
    perSecond: outputsInWindow / SOAK_SECONDS,
    endedOnce: endings.size === total && [...endings.values()].every((count) => count === 1),
    heapGrowth: heapAfter - heapBefore,
  };
}

/** 180 s; MIX_SECONDS shortens it for a quick look. */
const MIX_SECONDS = Number(process.env.MIX_SECONDS ?? 180);
const MIX_RATE = 200;

/**
 * A steady 200 messages/s (1–3 destinations each) for 180 s through one v1 account (Parallel 8,
 * Timeout 2 s, Retries 2) with a report node polling, at a stand-in that answers at random as an
 * account shared with other systems does (FAULT_MIX in dev/infobip-server.js: 3 % 503, 2 % 429
 * with Retry-After 1, 1 % reset, 1 % 400, 0.5 % hang, 0.5 % partial, 0.5 % junk), or never
 * faulty: inputs ended per second during the feed, whether every input ended exactly once (its
 * outputs, or its outputs so far and one error), and the heap after a full collection a third of
 * the way in and at the end.
 */
async function soakMix(faulty) {
  const child = fork(path.join(__dirname, 'server.js'), [], {
    env: { ...process.env, API_KEY, FAULT_MIX: faulty ? '1' : '0' },
  });
  const server = await new Promise((resolve) => child.once('message', resolve));
  const flow = reportFlow(server.baseUrl, { interval: 1 }, { concurrency: 8, timeout: 2, retries: 2 });
  flow.find((node) => node.id === 'sms').to = '';
  await loadUnspied([infobipAccount, binarySms, binarySmsReport, catchNode], flow, CREDENTIALS);
  const inputs = new Map();
  let endedInWindow = 0;
  let feeding = true;
  const record = (msg, field) => {
    const input = inputs.get(msg.seq);
    const wasEnded = input.errors > 0 || input.outputs === input.destinations;
    input[field]++;
    if (!wasEnded && feeding && (input.errors > 0 || input.outputs === input.destinations)) endedInWindow++;
  };
  helper.getNode('out').on('input', (msg) => record(msg, 'outputs'));
  helper.getNode('caught').on('input', (msg) => record(msg, 'errors'));
  const sms = helper.getNode('sms');
  const total = MIX_RATE * MIX_SECONDS;
  let seq = 0;
  let heapAtThird;
  await new Promise((resolve) => {
    const feeder = setInterval(() => {
      for (let i = 0; i < MIX_RATE / 20 && seq < total; i++) {
        const destinations = 1 + (seq % 3);
        const to = Array.from({ length: destinations }, (_, k) => String(41790000000 + ((seq * 3 + k) % 100000)));
        inputs.set(seq, { destinations, outputs: 0, errors: 0 });
        sms.receive({ payload: '0f c2', to, seq: seq++ });
      }
      if (heapAtThird === undefined && seq >= total / 3) heapAtThird = heapAfterGc();
      if (seq >= total) {
        clearInterval(feeder);
        resolve();
      }
    }, 50);
  });
  feeding = false;
  const isEnded = (input) => input.errors > 0 || input.outputs === input.destinations;
  const deadline = Date.now() + 60_000;
  while ([...inputs.values()].some((input) => !isEnded(input)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const heapAtEnd = heapAfterGc();
  const list = [...inputs.values()];
  await helper.unload();
  child.kill();
  return {
    perSecond: endedInWindow / MIX_SECONDS,
    notEnded: list.filter((input) => !isEnded(input)).length,
    endedOnce: list.every((input) => isEnded(input) && input.errors <= 1 && input.outputs <= input.destinations),
    heapGrowth: heapAtEnd - heapAtThird,
  };
}

async function burstRss(server) {
  await load(server);
  const done = arrivals(BURST);
  global.gc();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = Date.now();
  const sms = helper.getNode('sms');
  for (let seq = 0; seq < BURST; seq++) sms.receive(message(seq));
  await done;
  clearInterval(sampler);
  const seconds = (Date.now() - started) / 1000;
  await helper.unload();
  return { growth: peak - baseline, seconds };
}

/** A flow with a report node in webhook mode, served here as Node-RED serves httpNodeRoot. */
async function loadReports() {
  const flow = smsFlow('http://127.0.0.1:9', { to: '' });
  flow.push({
    id: 'rep',
    type: 'binary-sms-report',
    z: 'tab1',
    account: 'acc1',
    mode: 'webhook',
    path: '/infobip/reports',
    wires: [['out'], []],
  });
  await loadUnspied([infobipAccount, binarySms, binarySmsReport, catchNode], flow, CREDENTIALS);
}

/**
 * One overdue check over 100,000 tracked messages sent two hours ago, all already reported (as v3
 * keeps them for 48 h), with an overdue time of one hour: nothing is due, and the check must not
 * read them all.
 */
async function overdueTick() {
  const { Tracker } = require('../dist/lib/track/tracker');
  const data = new Map();
  const context = {
    get: (key, _store, callback) => callback(null, data.get(key)),
    set: (key, value, _store, callback) => {
      if (value === undefined) data.delete(key);
      else data.set(key, value);
      callback(null);
    },
    keys: (_store, callback) => callback(null, [...data.keys()]),
  };
  const tracker = new Tracker(context, undefined, { limit: OVERDUE_TRACKED, owner: 'bench', warn: () => undefined });
  await tracker.ready;
  const at = Date.now() - 2 * 3600_000;
  for (let i = 0; i < OVERDUE_TRACKED; i++) {
    const messageId = `overdue-${i}`;
    tracker.track({ messageId, to: String(41790000000 + i), at, sent: { topic: 'x', messageId } });
  }
  for (let i = 0; i < OVERDUE_TRACKED; i++) await tracker.markReported(`overdue-${i}`);
  const started = process.hrtime.bigint();
  const due = await tracker.takeOverdue(Date.now() - 3600_000);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { tracked: OVERDUE_TRACKED, due: due.length, ms };
}

/** Heap of the account's tracking of 10,000 accepted messages (memory context store). */
async function trackedBytes() {
  await loadReports();
  const tracker = helper.getNode('acc1').account.byId;
  await tracker.ready;
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = heapAfterGc();
  for (let i = 0; i < TRACKED; i++) {
    const messageId = `4f0c1e2a-7b3d-4e5f-9a8b-${String(i).padStart(12, '0')}`;
    const to = String(41790000000 + i);
    tracker.track({
      messageId,
      to,
      at: Date.now(),
      sent: {
        _msgid: 'a1b2c3d4e5f60718',
        topic: 'set-interval',
        device: { id: `meter-${i}`, site: 'north' },
        to,
        messageId,
        statusCode: 200,
      },
    });
  }
  const bytes = heapAfterGc() - before;
  await helper.unload();
  return bytes;
}

/** 10,000 reports pushed in buckets of 100, four requests at a time: reports/s and the longest stall. */
async function pushReports() {
  await loadReports();
  const buckets = Array.from({ length: REPORTS / 100 }, (_, b) =>
    JSON.stringify({
      results: Array.from({ length: 100 }, (_, i) => ({
        messageId: `push-${b}-${i}`,
        to: '41793026727',
        status: { groupId: 3, groupName: 'DELIVERED', id: 5, name: 'DELIVERED_TO_HANDSET' },
      })),
    }),
  );
  return push('/infobip/reports', buckets, REPORTS);
}

/** 10,000 inbound SMS in bodies of 100, each from a different number. */
const inboundBuckets = (numbers) =>
  Array.from({ length: INBOUND / 100 }, (_, b) =>
    JSON.stringify({
      results: Array.from({ length: 100 }, (_, i) => ({
        messageId: `in-${b}-${i}`,
        from: numbers[b * 100 + i],
        to: '447860099299',
        text: 'ACK 0F',
        cleanText: '0F',
        keyword: 'ACK',
        receivedAt: new Date().toISOString().replace('Z', '+0000'),
        smsCount: 1,
        price: { pricePerMessage: 0, currency: 'EUR' },
        callbackData: null,
      })),
    }),
  );

/** The inbound node's webhook, each reply tied to one of 10,000 numbers the account sent to. */
async function pushInbound(numbers) {
  await loadUnspied(
    [infobipAccount, binarySms, infobipSmsIn, catchNode],
    inboundFlow('http://127.0.0.1:9', { mode: 'webhook', wires: [['out']] }, {}, { to: '' }),
    { ...CREDENTIALS, in: { token: 'bench-token-0123456789' } },
  );
  const lastSent = helper.getNode('acc1').account.byNumber;
  await lastSent.ready;
  for (const to of numbers) {
    lastSent.track({ messageId: `sent-${to}`, to, at: Date.now(), sent: { topic: 'position?', to } });
  }
  return push('/infobip/inbound?token=bench-token-0123456789', inboundBuckets(numbers), INBOUND);
}

/** The same bodies taken by core nodes: http in, a Function node emitting one message per SMS, http response. */
async function pushInboundToCore(numbers) {
  const flow = [
    { id: 'tab1', type: 'tab' },
    { id: 'hin', type: 'http in', z: 'tab1', url: '/core/inbound', method: 'post', wires: [['split']] },
    {
      id: 'split',
      type: 'function',
      z: 'tab1',
      outputs: 2,
      func: 'const each = msg.payload.results.map((sms) => ({ payload: sms.text, from: sms.from, to: sms.to, messageId: sms.messageId, inbound: sms }));\nreturn [each, { req: msg.req, res: msg.res, payload: { accepted: each.length } }];',
      wires: [['out'], ['hres']],
    },
    { id: 'hres', type: 'http response', z: 'tab1', wires: [] },
    { id: 'out', type: 'helper', z: 'tab1' },
    { id: 'caught', type: 'helper', z: 'tab1' },
  ];
  // infobipAccount only so that httpNodeApp() is this load's app; the flow uses core nodes alone.
  await loadUnspied([infobipAccount, httpInNode, functionNode], flow);
  return push('/core/inbound', inboundBuckets(numbers), INBOUND);
}

/**
 * Pushes JSON bodies to a path of Node-RED's httpNodeRoot, four requests at a time, until
 * `count` messages reached the `out` helper: messages/s and the longest event-loop stall.
 */
async function push(route, buckets, count) {
  const front = http.createServer((req, res) => httpNodeApp()(req, res));
  await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${front.address().port}${route}`;
  const done = arrivals(count);
  const stalls = monitorEventLoopDelay({ resolution: 5 });
  stalls.enable();
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < buckets.length) {
      const body = buckets[next++];
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (response.status !== 200) throw new Error(`push answered ${response.status}`);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  await done;
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  stalls.disable();
  front.close();
  await helper.unload();
  return { perSecond: (count / ms) * 1000, maxStallMs: stalls.max / 1e6 };
}

async function main() {
  // The Infobip stand-in runs in its own process, so that its memory and CPU are not counted here.
  const child = fork(path.join(__dirname, 'server.js'), [], { env: { ...process.env, API_KEY } });
  const server = await new Promise((resolve) => child.once('message', resolve));
  await helper.startServer();
  try {
    const numbers = Array.from({ length: DESTINATIONS }, (_, i) => String(41790000000 + i));
    // Heap figures first, before earlier runs leave garbage that a collection might free mid-measurement.
    const tracked = await trackedBytes();
    const held = await heldBurst(server);
    await fanOut(server, numbers.slice(0, 100)); // warm-up
    const asString = await fanOut(server, numbers.join(','));
    const asArray = await fanOut(server, numbers);
    const burst = await burstRss(server);
    const pushed = await pushReports();
    const inbound = await pushInbound(numbers);
    const inboundCore = await pushInboundToCore(numbers);
    const steady = await soak(0);
    const blips = await soak(0.01);
    const overdue = await overdueTick();
    const unknownPlain = await unknownFanOut(numbers, false);
    const unknownInbound = await unknownFanOut(numbers, true);
    const mixClean = await soakMix(false);
    const mixFaulty = await soakMix(true);
    const figures = {
      asString,
      asArray,
      held,
      burst,
      tracked,
      pushed,
      inbound,
      inboundCore,
      steady,
      blips,
      overdue,
      unknownPlain,
      unknownInbound,
      mixClean,
      mixFaulty,
    };
    if (process.send) process.send(figures);
    else console.log(figures);
  } finally {
    await helper.stopServer();
    child.kill();
  }
}

if (process.env.MIX_ONLY) {
  helper
    .startServer()
    .then(async () => {
      if (process.env.MIX_ONLY === 'unknown') {
        const numbers = Array.from({ length: DESTINATIONS }, (_, i) => String(41790000000 + i));
        console.log({ plain: await unknownFanOut(numbers, false), inbound: await unknownFanOut(numbers, true) });
      } else console.log({ clean: await soakMix(false), faulty: await soakMix(true) });
    })
    .finally(() => helper.stopServer())
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
} else
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
