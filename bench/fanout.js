#!/usr/bin/env node
// Part of `npm run bench` (run with --expose-gc): the binary-sms node in Node-RED's runtime
// (node-red-node-test-helper) against the local Infobip stand-in, measuring
//   - fan-out: one message to 10,000 destinations, as an array and as a string: time and the
//     longest event-loop stall (perf_hooks.monitorEventLoopDelay);
//   - queueing: heap per queued message beyond the message itself, and the RSS growth of a
//     20,000-message burst with the account's default settings.
'use strict';
const { fork } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { helper, binarySms, infobipAccount, catchNode, smsFlow, CREDENTIALS } = require('../test/support/runtime');
const { API_KEY } = require('../test/support/runtime');

const DESTINATIONS = 10000;
const BURST = 20000;

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

async function main() {
  // The Infobip stand-in runs in its own process, so that its memory and CPU are not counted here.
  const child = fork(path.join(__dirname, 'server.js'), [], { env: { ...process.env, API_KEY } });
  const server = await new Promise((resolve) => child.once('message', resolve));
  await helper.startServer();
  try {
    const numbers = Array.from({ length: DESTINATIONS }, (_, i) => String(41790000000 + i));
    const queuedPerMessage = await queuedBytes();
    await fanOut(server, numbers.slice(0, 100)); // warm-up
    const asString = await fanOut(server, numbers.join(','));
    const asArray = await fanOut(server, numbers);
    const burst = await burstRss(server);
    process.send?.({ asString, asArray, queuedPerMessage, burst });
    if (!process.send) console.log({ asString, asArray, queuedPerMessage, burst });
  } finally {
    await helper.stopServer();
    child.kill();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
