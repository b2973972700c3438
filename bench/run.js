#!/usr/bin/env node
// `npm run bench`: one burst of 10,000 messages with two destinations each against the local
// Infobip stand-in (own process, 127.0.0.1), measured three ways:
//   (a) binary-sms inside a real Node-RED, on a v1 account and on a v3 account
//   (b) core nodes only: Function → http request → Function splitting the statuses
//   (c) a bare axios client with keep-alive at its best concurrency
// and prints statuses per second, the Node-RED process's peak memory growth, and a/b, a/c;
// then batching, long payloads, the sidebar's cost, lost answers resolved from Infobip's logs, three copies with and without shared state
// in Redis (needs redis-server), and the fan-out, queueing, reports and fault figures.
'use strict';
const { fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNodeRed } = require('../dev/red-process');

const root = path.resolve(__dirname, '..');
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10000);
const DESTINATIONS = ['41793026727', '41793026834'];
const API_KEY = 'bench-api-key-0123456789';
const CONCURRENCIES = [4, 8, 16, 32, 64];

function forked(script, args = [], env = {}, execArgv = []) {
  const child = fork(path.join(__dirname, script), args, {
    env: { ...process.env, ...env },
    stdio: 'inherit',
    execArgv,
  });
  const message = new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { child, message };
}

function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

/** The flow that fires the burst from a Function node and counts what comes back. */
function burstFlow(sendNodes, entryId, destinations = DESTINATIONS, messages = MESSAGES, payloadBytes = 9) {
  const statuses = messages * destinations.length;
  return [
    { id: 'benchtab', type: 'tab', label: 'bench' },
    { id: 'go', type: 'inject', z: 'benchtab', props: [], once: false, wires: [['burst']] },
    {
      id: 'burst',
      type: 'function',
      z: 'benchtab',
      outputs: 1,
      func: `flow.set('bench', { start: Date.now(), statuses: 0, errors: 0, end: 0 });
const payload = Buffer.alloc(${payloadBytes - 2}, 0x5a);
Buffer.from([0x0f, 0xc2, 0x4a, 0xbf, 0x34, 0x13, 0xba]).copy(payload);
for (let i = 0; i < ${messages}; i++) node.send({ payload: Buffer.concat([payload, Buffer.from([i >> 8, i & 255])]), to: ${JSON.stringify(destinations)}, seq: i });
return null;`,
      wires: [[entryId]],
    },
    ...sendNodes,
    {
      id: 'counter',
      type: 'function',
      z: 'benchtab',
      outputs: 0,
      func: `const b = flow.get('bench'); b.statuses++; if (b.statuses + ${destinations.length} * b.errors >= ${statuses}) b.end = Date.now(); return null;`,
      wires: [],
    },
    { id: 'failures', type: 'catch', z: 'benchtab', scope: null, uncaught: false, wires: [['errcount']] },
    {
      id: 'errcount',
      type: 'function',
      z: 'benchtab',
      outputs: 0,
      func: `const b = flow.get('bench'); b.errors++; if (b.statuses + ${destinations.length} * b.errors >= ${statuses}) b.end = Date.now(); return null;`,
      wires: [],
    },
    { id: 'resultin', type: 'http in', z: 'benchtab', url: '/bench', method: 'get', wires: [['result']] },
    {
      id: 'result',
      type: 'function',
      z: 'benchtab',
      outputs: 1,
      func: "msg.payload = flow.get('bench') || {}; return msg;",
      wires: [['resultout']],
    },
    { id: 'resultout', type: 'http response', z: 'benchtab', wires: [] },
  ];
}

function binarySmsNodes(baseUrl, concurrency, api, batchSize = '', smsSettings = {}, accountSettings = {}) {
  return [
    {
      id: 'benchacc',
      type: 'infobip-account',
      api,
      batchSize,
      baseUrl,
      authType: 'apiKey',
      concurrency,
      queueLimit: MESSAGES * 2,
      timeout: 60,
      retries: 0,
      credentials: { apiKey: API_KEY },
      ...accountSettings,
    },
    {
      id: 'smsnode',
      type: 'binary-sms',
      z: 'benchtab',
      account: 'benchacc',
      to: '',
      dataCoding: 4,
      esmClass: 0,
      wires: [['counter']],
      ...smsSettings,
    },
  ];
}

function coreNodes(baseUrl) {
  return [
    {
      id: 'buildreq',
      type: 'function',
      z: 'benchtab',
      outputs: 1,
      func: `const hex = Array.from(msg.payload, (b) => b.toString(16).padStart(2, '0')).join(' ');
msg.url = ${JSON.stringify(baseUrl + '/sms/1/binary/single')};
msg.method = 'POST';
msg.headers = { Authorization: 'App ${API_KEY}', 'Content-Type': 'application/json', Accept: 'application/json' };
msg.payload = { to: msg.to, binary: { hex, dataCoding: 4, esmClass: 0 } };
return msg;`,
      wires: [['httpreq']],
    },
    {
      id: 'httpreq',
      type: 'http request',
      z: 'benchtab',
      method: 'use',
      ret: 'obj',
      paytoqs: 'ignore',
      url: '',
      persist: true,
      wires: [['splitstatus']],
    },
    {
      id: 'splitstatus',
      type: 'function',
      z: 'benchtab',
      outputs: 1,
      func: `if (msg.statusCode !== 200) { node.error('HTTP ' + msg.statusCode, msg); return null; }
return [msg.payload.messages.map((entry) => { const out = RED.util.cloneMessage(msg); out.payload = entry; out.to = entry.to; out.messageId = entry.messageId; return out; })];`,
      wires: [['counter']],
    },
  ];
}

async function runInNodeRed(label, sendNodes, entryId, destinations, messages, payloadBytes, settings) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-bench-'));
  const red = await startNodeRed({ userDir, nodesDir: [root], settings });
  try {
    await red.deploy(burstFlow(sendNodes, entryId, destinations, messages, payloadBytes));
    await red.whenRouted('/api/bench', {});
    const baseline = rssBytes(red.child.pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(red.child.pid))), 20);
    await red.request('POST', '/inject/go');
    let result;
    const deadline = Date.now() + 300000;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      result = (await red.request('GET', '/api/bench')).json;
      if ((result && result.end) || Date.now() > deadline) break;
    }
    clearInterval(sampler);
    peak = Math.max(peak, rssBytes(red.child.pid));
    if (!result.end) throw new Error(`${label}: did not finish: ${JSON.stringify(result)}`);
    return {
      label,
      statuses: result.statuses,
      errors: result.errors,
      ms: result.end - result.start,
      memoryGrowth: peak - baseline,
    };
  } finally {
    await red.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

/** What Node-RED itself costs: the same burst and counter, each message turned into two statuses without HTTP. */
function floorNodes() {
  return [
    {
      id: 'duplicate',
      type: 'function',
      z: 'benchtab',
      outputs: 1,
      func: 'return [[RED.util.cloneMessage(msg), msg]];',
      wires: [['counter']],
    },
  ];
}

async function runAxios(baseUrl, concurrency, destinations = DESTINATIONS) {
  const { message } = forked('axios-client.js', [
    JSON.stringify({ baseUrl, apiKey: API_KEY, messages: MESSAGES, concurrency, destinations }),
  ]);
  return { label: `axios, ${concurrency} in flight`, concurrency, ...(await message) };
}

const perSecond = (run) => (run.statuses / run.ms) * 1000;

/**
 * Many waiting messages in one request (v3): 10,000 messages to one destination each, distinct
 * payloads, on an unlimited account: Messages per request 100 (the default) against 1 and against
 * a bare axios client sending one request per message; then three Node-RED processes sharing an
 * account limited to 100 requests/s, batched against one request per message.
 */
async function batching(baseUrl, concurrency) {
  const one = ['41793026727'];
  console.log('\nMany messages per request (v3), 10,000 messages × 1 destination, unlimited account');
  const batched = await runInNodeRed(
    'Messages per request 100',
    binarySmsNodes(baseUrl, concurrency, 'v3', 100),
    'smsnode',
    one,
  );
  const single = await runInNodeRed(
    'Messages per request 1',
    binarySmsNodes(baseUrl, concurrency, 'v3', 1),
    'smsnode',
    one,
  );
  const bare = await runAxios(baseUrl, concurrency, one);
  const passthrough = [
    { id: 'pass', type: 'function', z: 'benchtab', outputs: 1, func: 'return msg;', wires: [['counter']] },
  ];
  const alone = await runInNodeRed('Node-RED alone, no HTTP', passthrough, 'pass', one);
  for (const run of [
    batched,
    single,
    { ...bare, label: `bare axios, ${concurrency} in flight, one request per message` },
    alone,
  ]) {
    console.log(`  ${run.label}: ${perSecond(run).toFixed(0)} statuses/s, ${run.errors} errors`);
  }
  const vsBare = perSecond(batched) / perSecond(bare);
  const vsAlone = perSecond(batched) / perSecond(alone);
  console.log(
    `  batched / bare client = ${vsBare.toFixed(2)} (target ≥ 3)   batched / Node-RED alone = ${vsAlone.toFixed(2)} (target ≥ 0.5)`,
  );

  const limit = 100;
  const limited = forked('server.js', [], { API_KEY, RATE_PER_SECOND: String(limit) });
  const { baseUrl: limitedUrl } = await limited.message;
  try {
    const shared = async (batchSize, messages) => {
      const runs = await Promise.all(
        [1, 2, 3].map((i) =>
          runInNodeRed(
            `instance ${i}`,
            binarySmsNodes(limitedUrl, concurrency, 'v3', batchSize),
            'smsnode',
            one,
            messages,
          ),
        ),
      );
      const seconds = Math.max(...runs.map((run) => run.ms)) / 1000;
      const errors = runs.reduce((sum, run) => sum + run.errors, 0);
      return { perSecond: (3 * messages) / seconds, seconds, errors };
    };
    const many = await shared(100, 3000);
    const few = await shared(1, 300);
    console.log(`Three Node-RED processes sharing an account limited to ${limit} requests/s`);
    console.log(
      `  Messages per request 100, 3 × 3,000 messages: ${many.perSecond.toFixed(0)} messages/s, ${many.errors} errors`,
    );
    console.log(
      `  Messages per request 1, 3 × 300 messages: ${few.perSecond.toFixed(0)} messages/s, ${few.errors} errors`,
    );
    console.log(`  batched / one per request = ${(many.perSecond / few.perSecond).toFixed(1)} (target ≥ 10)`);
  } finally {
    limited.child.kill();
  }
}
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(0);

/**
 * Three Node-RED copies of one flow behind a balancer, each with Rate limit 100, against an
 * account that answers 429 above 100 requests in any sliding second, counted as they arrive (the
 * strictest limiter): 3 × 1,000 messages, one request each, with the copies sharing state in Redis
 * and without (each paces itself). Every message must be accepted once.
 */
async function severalCopies() {
  const { Cluster } = require('../dev/cluster');
  const run = async (redis, flow = {}) => {
    const cluster = await new Cluster({
      redis,
      server: { ratePerSecond: 100, rateWindow: 'sliding' },
      flow: { rateLimit: 100, ...flow },
    }).start();
    try {
      const started = Date.now();
      await Promise.all([0, 1, 2].map((index) => cluster.send(index, 1000)));
      await cluster.until('sent', (list) => list.length >= 3000, 120000);
      const seconds = (Date.now() - started) / 1000;
      const failed = (await cluster.all('failed')).length;
      return { seconds, throttled: cluster.server.throttled, accepted: cluster.server.accepted().length, failed };
    } finally {
      await cluster.stop();
    }
  };
  const withRedis = await run(true);
  // The same with a daily limit that holds back nothing: one atomic check in Redis per message.
  const limited = await run(true, { dailyLimit: 1000000 });
  const alone = await run(false);
  console.log(
    '\nThree Node-RED copies, Rate limit 100 each, account answering 429 above 100 requests in any sliding second (counted at arrival): 3 × 1,000 messages',
  );
  console.log(
    "  shared budget: tenths of a second at 95 % of the limit, each tenth's starts spread over it (Redis); alone: each copy spaces its starts at 95 % of its own limit",
  );
  console.log('| copies | time | of the 30 s floor | answered 429 | accepted | failed |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [label, r] of [
    ['sharing state in Redis', withRedis],
    ['sharing state in Redis, Daily limit checked per message', limited],
    ['each on its own', alone],
  ]) {
    console.log(
      `| ${label} | ${r.seconds.toFixed(1)} s | ${(r.seconds / 30).toFixed(2)} × | ${r.throttled} (${((100 * r.throttled) / (r.accepted + r.throttled)).toFixed(1)} %) | ${r.accepted} | ${r.failed} |`,
    );
  }
  console.log(
    `  with Redis: ${(withRedis.seconds / 30).toFixed(2)} × the floor (target ≤ 1.1), ${withRedis.throttled} answered 429 (target ≤ 30, 1 %); alone / with Redis = ${(alone.seconds / withRedis.seconds).toFixed(2)} in time`,
  );
  console.log(
    `  the daily limit's atomic check per message (Redis): ${limited.seconds.toFixed(1)} s / ${withRedis.seconds.toFixed(1)} s = ${(limited.seconds / withRedis.seconds).toFixed(2)} (target ≤ 1.05), ${limited.accepted} accepted`,
  );
}

/**
 * What the counts cost: the v3 burst with the sidebar and the metrics (the default), with the
 * metrics alone, and with neither (settings.js `infobipSidebar: false, infobipMetrics: false`: the
 * nodes count into nothing), each run twice, best kept.
 */
async function sidebarCost(baseUrl, concurrency) {
  const nodes = binarySmsNodes(baseUrl, concurrency, 'v3');
  const best = async (label, settings) => {
    const runs = [];
    for (let i = 0; i < 2; i++)
      runs.push(await runInNodeRed(label, nodes, 'smsnode', undefined, undefined, undefined, settings));
    return runs.reduce((top, run) => (perSecond(run) > perSecond(top) ? run : top));
  };
  const off = await best('counters off', { infobipSidebar: false, infobipMetrics: false });
  const on = await best('counters on', undefined);
  const metricsOnly = await best('metrics only', { infobipSidebar: false });
  console.log(
    `\nThe counts behind the Infobip sidebar and the Prometheus metrics: the v3 burst of ${MESSAGES} messages × ${DESTINATIONS.length} destinations, best of two`,
  );
  console.log(`  counters on: ${perSecond(on).toFixed(0)} statuses/s, off: ${perSecond(off).toFixed(0)} statuses/s`);
  const ratio = perSecond(on) / perSecond(off);
  console.log(`  on / off = ${ratio.toFixed(2)} (target ≥ 0.95)`);
  const metricsRatio = perSecond(metricsOnly) / perSecond(off);
  console.log(
    `  Prometheus metrics on (sidebar off): ${perSecond(metricsOnly).toFixed(0)} statuses/s; metrics / off = ${metricsRatio.toFixed(2)} (target ≥ 0.95)`,
  );
  return ratio >= 0.95 && metricsRatio >= 0.95;
}

/**
 * Long payloads (v3, Messages per request 100): 1,000 messages of 600 bytes, each split into 5
 * concatenated parts, beside 1,000 messages that fit one SMS; one destination each.
 */
async function longPayloads(baseUrl, concurrency) {
  const one = ['41793026727'];
  const count = 1000;
  const nodes = binarySmsNodes(baseUrl, concurrency, 'v3', 100, { longPayload: 'split' });
  const long = await runInNodeRed('600 bytes, 5 parts each', nodes, 'smsnode', one, count, 600);
  const single = await runInNodeRed('9 bytes, one SMS each', nodes, 'smsnode', one, count, 9);
  console.log('\nLong payloads (v3, Messages per request 100): 1,000 messages × 1 destination');
  console.log(
    `  600 bytes (5 parts each): ${perSecond(long).toFixed(0)} statuses/s = ${(perSecond(long) * 5).toFixed(0)} parts/s, ${long.errors} errors`,
  );
  console.log(`  one SMS each: ${perSecond(single).toFixed(0)} statuses/s, ${single.errors} errors`);
  console.log(
    `  long / single statuses = ${(perSecond(long) / perSecond(single)).toFixed(2)}, parts = ${((perSecond(long) * 5) / perSecond(single)).toFixed(2)}`,
  );
  return long.errors === 0 && single.errors === 0;
}

/**
 * Lost answers (v3): 1,000 messages, one destination each, every request accepted by the stand-in
 * and its answer lost (the connection hangs past Timeout 2 s); its logs show a message 500 ms after
 * acceptance. How many lookups resolve them, and how long until the last output. Then what
 * Resolve unknown costs normal sending: the v3 burst with it on (120 s) and off, best of two each.
 */
async function lostAnswers(baseUrl, concurrency) {
  const { InfobipTestServer } = require('../dev/infobip-server');
  const count = 1000;
  const stand = await new InfobipTestServer({ apiKey: API_KEY, logDelayMs: 500 }).start(0);
  let lost;
  try {
    stand.plan(...Array.from({ length: count }, () => ({ afterAccepting: true, hang: true })));
    const nodes = binarySmsNodes(stand.baseUrl, concurrency, 'v3', 100, {}, { resolveUnknown: 120, timeout: 2 });
    lost = await runInNodeRed('lost answers', nodes, 'smsnode', ['41793026727'], count, 9);
    lost.lookups = stand.logLookups.length;
    lost.sends = stand.requests.length;
  } finally {
    await stand.stop();
  }
  const best = async (label, resolveUnknown) => {
    const nodes = binarySmsNodes(baseUrl, concurrency, 'v3', '', {}, { resolveUnknown });
    const runs = [];
    for (let i = 0; i < 2; i++) runs.push(await runInNodeRed(label, nodes, 'smsnode'));
    return runs.reduce((top, run) => (perSecond(run) > perSecond(top) ? run : top));
  };
  const off = await best('Resolve unknown off', 0);
  const on = await best('Resolve unknown 120 s', 120);
  const per100 = (lost.lookups / count) * 100;
  console.log(
    `\nLost answers (v3): ${count} messages whose answers are lost (Timeout 2 s, logs 0.5 s behind acceptance)`,
  );
  console.log(
    `  resolved from the logs: ${lost.statuses} of ${count}, ${lost.errors} errors, with ${lost.lookups} lookups (${per100.toFixed(1)} per 100 messages, target ≤ 1) in ${(lost.ms / 1000).toFixed(1)} s; ${lost.sends} sends, none repeated`,
  );
  console.log(
    `  normal sending, the v3 burst of ${MESSAGES} messages × ${DESTINATIONS.length} destinations, best of two: on ${perSecond(on).toFixed(0)} statuses/s, off ${perSecond(off).toFixed(0)} statuses/s; on / off = ${(perSecond(on) / perSecond(off)).toFixed(2)} (target ≥ 0.95: nothing is looked up when answers arrive)`,
  );
  return per100 <= 1 && lost.errors === 0 && lost.statuses === count && perSecond(on) / perSecond(off) >= 0.95;
}

async function main() {
  const server = forked('server.js', [], { API_KEY });
  const { baseUrl } = await server.message;
  try {
    console.log(
      `Burst of ${MESSAGES} messages × ${DESTINATIONS.length} destinations against ${baseUrl} (own process); Node ${process.version}, ${os.cpus().length} cores\n`,
    );
    const axiosRuns = [];
    for (const concurrency of CONCURRENCIES) {
      const run = await runAxios(baseUrl, concurrency);
      axiosRuns.push(run);
      console.log(
        `  (c) axios with ${String(concurrency).padStart(2)} in flight: ${perSecond(run).toFixed(0)} statuses/s`,
      );
    }
    const c = axiosRuns.reduce((best, run) => (perSecond(run) > perSecond(best) ? run : best));
    const a = await runInNodeRed(
      `binary-sms, v1 account, ${c.concurrency} in flight`,
      binarySmsNodes(baseUrl, c.concurrency, 'v1'),
      'smsnode',
    );
    const a3 = await runInNodeRed(
      `binary-sms, v3 account, ${c.concurrency} in flight`,
      binarySmsNodes(baseUrl, c.concurrency, 'v3'),
      'smsnode',
    );
    const b = await runInNodeRed('core nodes (function + http request + function)', coreNodes(baseUrl), 'buildreq');
    const floor = await runInNodeRed('Node-RED alone: same burst, no HTTP', floorNodes(), 'duplicate');

    console.log('\n| run | statuses/s | errors | time | Node-RED peak memory growth |');
    console.log('|---|---:|---:|---:|---:|');
    for (const [name, run] of [
      ['(a)', a],
      ['(a3)', a3],
      ['(b)', b],
      ['(c)', c],
      ['(floor)', floor],
    ]) {
      const memory = run.memoryGrowth === undefined ? '–' : `${mb(run.memoryGrowth)} MB`;
      console.log(
        `| ${name} ${run.label} | ${perSecond(run).toFixed(0)} | ${run.errors} | ${(run.ms / 1000).toFixed(2)} s | ${memory} |`,
      );
    }
    const ab = perSecond(a) / perSecond(b);
    const ac = perSecond(a) / perSecond(c);
    console.log(
      `\na/b = ${ab.toFixed(2)} (target ≥ 1.5)   a/c = ${ac.toFixed(2)} (target ≥ 0.9)   a's memory growth = ${mb(a.memoryGrowth)} MB (target < 150 MB)`,
    );
    const a3b = perSecond(a3) / perSecond(b);
    const a3c = perSecond(a3) / perSecond(c);
    console.log(
      `v3: a3/b = ${a3b.toFixed(2)} (target ≥ 1.5)   a3/c = ${a3c.toFixed(2)} (target ≥ 0.9)   a3's memory growth = ${mb(a3.memoryGrowth)} MB`,
    );
    const met =
      ab >= 1.5 &&
      ac >= 0.9 &&
      a3b >= 1.5 &&
      a3c >= 0.9 &&
      a.memoryGrowth < 150 * 1024 * 1024 &&
      a.errors === 0 &&
      a3.errors === 0;
    console.log(met ? 'All targets met.' : 'Some targets missed.');
    console.log(
      `Node-RED alone (burst, routing, counting; no HTTP) takes ${(floor.ms / 1000).toFixed(2)} s of (a)'s ${(a.ms / 1000).toFixed(2)} s; (c) runs in a bare process without it.`,
    );

    await batching(baseUrl, c.concurrency);
    await longPayloads(baseUrl, c.concurrency);
    await sidebarCost(baseUrl, c.concurrency);
    await lostAnswers(baseUrl, c.concurrency);
    await severalCopies();

    const { message: fanout } = forked('fanout.js', [], {}, ['--expose-gc']);
    const {
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
    } = await fanout;
    const soakRatio = blips.perSecond / steady.perSecond;
    const heldRatio = held.ours / held.core;
    const fanoutRatio = asArray.ms / asString.ms;
    const stall = Math.max(asArray.maxStallMs, asString.maxStallMs);
    console.log('\nFan-out: one message to 10,000 destinations (Node-RED runtime via the test helper)');
    console.log(
      `  as a string: ${asString.ms.toFixed(0)} ms, longest event-loop stall ${asString.maxStallMs.toFixed(1)} ms`,
    );
    console.log(
      `  as an array: ${asArray.ms.toFixed(0)} ms, longest event-loop stall ${asArray.maxStallMs.toFixed(1)} ms`,
    );
    console.log(
      `  array/string = ${fanoutRatio.toFixed(2)} (target ≤ 1.5)   longest stall = ${stall.toFixed(1)} ms (target < 100 ms)`,
    );
    console.log("Queueing: 20,000 messages with the account's default settings");
    console.log(
      `  heap per held message (v3 account, 140-byte Buffer, 2 numbers, behind Parallel 1 at 1 request/s): ${held.ours.toFixed(0)} bytes; core delay node holding the same burst: ${held.core.toFixed(0)} bytes; ratio ${heldRatio.toFixed(2)} (target ≤ 2)`,
    );
    console.log(
      `  RSS growth of the 20,000-message burst to the last output: ${mb(burst.growth)} MB, ${burst.seconds.toFixed(1)} s`,
    );
    console.log('Delivery reports');
    console.log(
      `  10,000 reports pushed in buckets of 100: ${pushed.perSecond.toFixed(0)} reports/s, longest event-loop stall ${pushed.maxStallMs.toFixed(1)} ms`,
    );
    console.log(`  memory of 10,000 tracked messages: ${mb(tracked)} MB (target < 20 MB)`);
    console.log(
      `  overdue check over ${overdue.tracked.toLocaleString('en')} tracked messages, all reported, nothing due: ${overdue.ms.toFixed(2)} ms (target < 5 ms)`,
    );
    const inboundRatio = inbound.perSecond / inboundCore.perSecond;
    console.log('Replies from devices (inbound SMS)');
    console.log(
      `  10,000 pushed in buckets of 100, each tied to one of 10,000 tracked numbers: ${inbound.perSecond.toFixed(0)} messages/s, longest event-loop stall ${inbound.maxStallMs.toFixed(1)} ms (target < 100 ms)`,
    );
    console.log(
      `  core http in + Function splitting the same bodies (no msg.sent): ${inboundCore.perSecond.toFixed(0)} messages/s, longest stall ${inboundCore.maxStallMs.toFixed(1)} ms; inbound node / core = ${inboundRatio.toFixed(2)}`,
    );
    console.log('A gateway that sometimes answers 503: 200 messages/s for 30 s');
    for (const [name, run] of [
      ['no faults', steady],
      ['1 % random 503', blips],
    ]) {
      console.log(
        `  ${name}: ${run.perSecond.toFixed(0)} statuses/s, every input ended once: ${run.endedOnce}, heap growth ${mb(run.heapGrowth)} MB`,
      );
    }
    console.log(`  with 503s / without = ${soakRatio.toFixed(2)} (target ≥ 0.9)`);
    const unknownTime = unknownInbound.ms / unknownPlain.ms;
    const unknownHeap = unknownInbound.heap / unknownPlain.heap;
    console.log('One v3 message to 10,000 numbers whose answer never comes in time (Timeout 1 s)');
    console.log(
      `  to its "delivery unknown" error: ${unknownPlain.ms.toFixed(0)} ms without an inbound node, ${unknownInbound.ms.toFixed(0)} ms with one (every number remembered for its reply); ratio ${unknownTime.toFixed(2)} (target ≤ 2)`,
    );
    console.log(
      `  heap it leaves: ${mb(unknownPlain.heap)} MB without, ${mb(unknownInbound.heap)} MB with (${((unknownInbound.heap - unknownPlain.heap) / unknownInbound.remembered).toFixed(0)} bytes per remembered number); ratio ${unknownHeap.toFixed(2)} (target ≤ 2)`,
    );
    const mixRatio = mixFaulty.perSecond / mixClean.perSecond;
    console.log(
      'An account shared with other systems on a flaky network: 200 messages/s (1–3 destinations) for 180 s, v1, Parallel 8, Timeout 2 s, Retries 2, a report node polling',
    );
    for (const [name, run] of [
      ['no faults', mixClean],
      ['3 % 503, 2 % 429 (Retry-After 1), 1 % reset, 1 % 400, 0.5 % hang, partial and junk each', mixFaulty],
    ]) {
      console.log(
        `  ${name}: ${run.perSecond.toFixed(0)} inputs ended/s, every input ended exactly once: ${run.endedOnce} (${run.notEnded} not ended), heap growth after the first third ${mb(run.heapGrowth)} MB`,
      );
    }
    console.log(`  with faults / without = ${mixRatio.toFixed(2)} (target ≥ 0.9)`);
    const reliabilityMet =
      fanoutRatio <= 1.5 &&
      stall < 100 &&
      heldRatio <= 2 &&
      soakRatio >= 0.9 &&
      mixRatio >= 0.9 &&
      mixClean.endedOnce &&
      mixFaulty.endedOnce &&
      inbound.maxStallMs < 100 &&
      steady.endedOnce &&
      blips.endedOnce &&
      tracked < 20 * 1024 * 1024 &&
      overdue.due === 0 &&
      overdue.ms < 5;
    console.log(
      reliabilityMet
        ? 'Fan-out, queueing, tracking and inbound targets met.'
        : 'Some fan-out, queueing, tracking or inbound targets missed.',
    );
  } finally {
    server.child.kill();
  }
}

module.exports = { runInNodeRed, severalCopies, lostAnswers, sidebarCost, MESSAGES };

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
