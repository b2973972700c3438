#!/usr/bin/env node
// Part of `npm run bench` (run with --expose-gc): the binary-sms node in Node-RED's runtime
// (node-red-node-test-helper) against the local Infobip stand-in, measuring
//   - fan-out: one message to 10,000 destinations, as an array and as a string: time and the
//     longest event-loop stall (perf_hooks.monitorEventLoopDelay);
//   - queueing: heap per queued message beyond the message itself, and the RSS growth of a
//     20,000-message burst with the account's default settings;
//   - delivery reports: 10,000 reports pushed to the webhook in buckets of 100 (reports/s and
//     the longest stall), and the heap of 10,000 tracked messages.
'use strict';
const { fork } = require('node:child_process');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const {
  helper,
  binarySms,
  binarySmsReport,
  httpNodeApp,
  infobipAccount,
  catchNode,
  smsFlow,
  CREDENTIALS,
} = require('../test/support/runtime');
const { API_KEY } = require('../test/support/runtime');

const DESTINATIONS = 10000;
const BURST = 20000;
const TRACKED = 10000;
const REPORTS = 10000;

async function load(server, accountOverrides = {}) {
  await helper.load(
    [infobipAccount, binarySms, catchNode],
    smsFlow(server.baseUrl, { to: '' }, accountOverrides),
    CREDENTIALS,
  );
  // The test helper records every call of a node's send/status/log methods with sinon; a user's
  // Node-RED does not. Those spies are removed so that only the node and Node-RED are measured.
  helper._sandbox.restore();
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

function heapAfterGc() {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
}

const message = (seq) => ({ payload: Buffer.from([seq >> 8, seq & 0xff, 0x0f]), to: '41793026727', seq });

/** Heap per message held in the account's queue, beyond the message itself. */
async function queuedBytes() {
  // A server that never answers holds the one request in flight; everything else waits in the queue.
  const sockets = new Set();
  const silent = net.createServer((socket) => sockets.add(socket));
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  await load({ baseUrl: `http://127.0.0.1:${silent.address().port}` }, { concurrency: 1 });
  // The messages exist before the measurement starts: only what queueing adds is counted.
  const messages = Array.from({ length: BURST }, (_, seq) => message(seq));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = heapAfterGc();
  const sms = helper.getNode('sms');
  for (const msg of messages) sms.receive(msg);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const perMessage = (heapAfterGc() - before) / BURST;
  for (const socket of sockets) socket.destroy();
  await helper.unload();
  silent.close();
  return perMessage;
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
  await helper.load([infobipAccount, binarySms, binarySmsReport, catchNode], flow, CREDENTIALS);
  helper._sandbox.restore();
}

/** Heap of the account's tracking of 10,000 accepted messages (memory context store). */
async function trackedBytes() {
  await loadReports();
  const tracker = helper.getNode('acc1').tracker;
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
  const front = http.createServer((req, res) => httpNodeApp()(req, res));
  await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${front.address().port}/infobip/reports`;
  const done = arrivals(REPORTS);
  const buckets = Array.from({ length: REPORTS / 100 }, (_, b) =>
    JSON.stringify({
      results: Array.from({ length: 100 }, (_, i) => ({
        messageId: `push-${b}-${i}`,
        to: '41793026727',
        status: { groupId: 3, groupName: 'DELIVERED', id: 5, name: 'DELIVERED_TO_HANDSET' },
      })),
    }),
  );
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
  return { perSecond: (REPORTS / ms) * 1000, maxStallMs: stalls.max / 1e6 };
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
    const queuedPerMessage = await queuedBytes();
    await fanOut(server, numbers.slice(0, 100)); // warm-up
    const asString = await fanOut(server, numbers.join(','));
    const asArray = await fanOut(server, numbers);
    const burst = await burstRss(server);
    const pushed = await pushReports();
    const figures = { asString, asArray, queuedPerMessage, burst, tracked, pushed };
    if (process.send) process.send(figures);
    else console.log(figures);
  } finally {
    await helper.stopServer();
    child.kill();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
