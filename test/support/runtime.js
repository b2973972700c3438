'use strict';
// Loads the compiled nodes into node-red-node-test-helper the way Node-RED's loader
// would: the helper's RED._ returns keys untranslated, so each node gets a RED whose
// _() reads the node's own message catalog, as in a real runtime.
const path = require('node:path');
const helper = require('node-red-node-test-helper');
const { InfobipTestServer } = require('../../dev/infobip-server');
const { nodeRedDir, requireFromNodeRed, version: nodeRedVersion } = require('../../dev/node-red-under-test');

const { i18n } = requireFromNodeRed('@node-red/util');
helper.init(path.join(nodeRedDir, 'lib', 'red.js'));

const dist = path.resolve(__dirname, '..', '..', 'dist');

/** The express app of the latest load's RED.httpNode (the helper does not serve it itself). */
let currentHttpNode;
const httpNodeApp = () => currentHttpNode;

function withCatalog(name) {
  const register = require(path.join(dist, `${name}.js`));
  const namespace = `test/${name}`;
  const nodeModule = async function (RED) {
    currentHttpNode = RED.httpNode;
    await i18n.registerMessageCatalog(namespace, path.join(dist, 'locales'), `${name}.json`);
    const scoped = Object.create(RED);
    scoped._ = (key, params) => i18n._(`${namespace}:${key}`, params);
    return register(scoped);
  };
  return nodeModule;
}

const binarySms = withCatalog('binary-sms');
const infobipAccount = withCatalog('infobip-account');
const binarySmsReport = withCatalog('binary-sms-report');
const infobipSmsIn = withCatalog('infobip-sms-in');
const catchNode = requireFromNodeRed('@node-red/nodes/core/common/25-catch.js');
const statusNode = requireFromNodeRed('@node-red/nodes/core/common/25-status.js');
const joinNode = requireFromNodeRed('@node-red/nodes/core/sequence/17-split.js');
const functionNode = requireFromNodeRed('@node-red/nodes/core/function/10-function.js');

const API_KEY = 'test-api-key-0123456789';

/**
 * A status as the editor shows it: a text that is a catalog key (as core nodes pass a status
 * without parameters) is translated, as the editor translates it.
 */
function shownStatus(status) {
  const text = status?.text;
  if (typeof text !== 'string' || !/^[a-z-]+\.[A-Za-z.]+$/.test(text)) return status;
  return { ...status, text: i18n._(`test/${text.split('.')[0]}:${text}`) };
}
/** Every status a node showed, as the editor showed it. */
const statusesOf = (id) => helper.getNode(id).status.args.map(([status]) => shownStatus(status));
/** The status a node shows now, as the editor shows it. */
const lastStatusOf = (id) => shownStatus(helper.getNode(id).status.lastCall.args[0]);

/** A flow: inject point `sms` → `out` helper, a catch node → `caught` helper. */
function smsFlow(baseUrl, smsOverrides = {}, accountOverrides = {}) {
  return [
    { id: 'tab1', type: 'tab', label: 'test' },
    { id: 'acc1', type: 'infobip-account', name: 'test', baseUrl, authType: 'apiKey', retries: 3, ...accountOverrides },
    {
      id: 'sms',
      type: 'binary-sms',
      z: 'tab1',
      account: 'acc1',
      from: '',
      to: '41793026727',
      dataCoding: 0,
      esmClass: 0,
      wires: [['out']],
      ...smsOverrides,
    },
    { id: 'out', type: 'helper', z: 'tab1' },
    { id: 'catcher', type: 'catch', z: 'tab1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab1' },
  ];
}

/**
 * smsFlow plus a report node `rep` on the same account (polling every second unless overridden),
 * its outputs wired to the helpers `reports` and `late`.
 */
function reportFlow(baseUrl, reportOverrides = {}, accountOverrides = {}) {
  const flow = smsFlow(baseUrl, {}, accountOverrides);
  flow.push(
    {
      id: 'rep',
      type: 'binary-sms-report',
      z: 'tab1',
      account: 'acc1',
      mode: 'poll',
      interval: 1,
      path: '/infobip/reports',
      overdue: 0,
      wires: [['reports'], ['late']],
      ...reportOverrides,
    },
    { id: 'reports', type: 'helper', z: 'tab1' },
    { id: 'late', type: 'helper', z: 'tab1' },
  );
  return flow;
}

/**
 * smsFlow plus an inbound node `in` on the same account (polling every second unless overridden),
 * its output wired to the helper `replies`.
 */
function inboundFlow(baseUrl, inboundOverrides = {}, accountOverrides = {}, smsOverrides = {}) {
  const flow = smsFlow(baseUrl, smsOverrides, accountOverrides);
  flow.push(
    {
      id: 'in',
      type: 'infobip-sms-in',
      z: 'tab1',
      account: 'acc1',
      mode: 'poll',
      interval: 1,
      path: '/infobip/inbound',
      replyWindow: 60,
      wires: [['replies']],
      ...inboundOverrides,
    },
    { id: 'replies', type: 'helper', z: 'tab1' },
  );
  return flow;
}

/**
 * Collects what reaches `out` and `caught` until `expected` messages arrived in all,
 * then waits `settleMs` more to catch any extra (duplicate) message.
 */
function collect(expected, settleMs = 100, timeoutMs = 15000) {
  const outputs = [];
  const errors = [];
  const done = new Promise((resolve, reject) => {
    let timer;
    const check = () => {
      if (outputs.length + errors.length >= expected && !timer) {
        timer = setTimeout(() => resolve({ outputs, errors }), settleMs);
      }
    };
    helper.getNode('out').on('input', (msg) => {
      outputs.push(msg);
      check();
    });
    helper.getNode('caught').on('input', (msg) => {
      errors.push(msg);
      check();
    });
    setTimeout(
      () => reject(new Error(`timed out: ${outputs.length} outputs, ${errors.length} errors of ${expected}`)),
      timeoutMs,
    ).unref();
  });
  return done;
}

async function startInfobip(options) {
  return new InfobipTestServer({ apiKey: API_KEY, ...options }).start();
}

const CREDENTIALS = { acc1: { apiKey: API_KEY } };

const { APIS, SEND_PATHS, sentMessage, sentMessages, messagesReceived, numberIn, partsIn } = require('./api');

/**
 * Gives each test of the calling describe() the helper's Node-RED and a fresh local Infobip
 * server (`env.server`), and `env.load()` to load smsFlow against it, its account on `api`.
 */
function withRuntime({ api = 'v1' } = {}) {
  const env = {
    server: undefined,
    api,
    sendPath: SEND_PATHS[api],
    async load(smsOverrides = {}, accountOverrides = {}, credentials = CREDENTIALS, baseUrl = env.server.baseUrl) {
      await helper.load(
        [infobipAccount, binarySms, catchNode],
        smsFlow(baseUrl, smsOverrides, { api, ...accountOverrides }),
        credentials,
      );
    },
  };
  beforeEach(async () => {
    await helper.startServer();
    env.server = await startInfobip();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await env.server.stop();
  });
  return env;
}

/**
 * Every message that reaches the node `id`, across full deploys (which make new node objects,
 * so a listener on the old one hears nothing): through Node-RED's onReceive hook. Call the
 * returned stop() when done.
 */
function arrivalsAt(id) {
  const { hooks } = requireFromNodeRed('@node-red/util');
  const name = `onReceive.arrivals${Math.random().toString(36).slice(2)}`;
  const arrived = [];
  hooks.add(name, (event) => {
    if (event.destination.id === id) arrived.push(event.msg);
  });
  arrived.stop = () => hooks.remove(name);
  return arrived;
}

/** Node-RED 4 and later pass an error's `code` to the Catch node as msg.error.code (3.1 does not). */
const passesCode = Number(nodeRedVersion.split('.')[0]) >= 4;

module.exports = {
  passesCode,
  arrivalsAt,
  helper,
  binarySms,
  infobipAccount,
  binarySmsReport,
  infobipSmsIn,
  httpNodeApp,
  statusesOf,
  lastStatusOf,
  catchNode,
  statusNode,
  joinNode,
  functionNode,
  smsFlow,
  reportFlow,
  inboundFlow,
  collect,
  startInfobip,
  withRuntime,
  API_KEY,
  CREDENTIALS,
  APIS,
  SEND_PATHS,
  sentMessage,
  sentMessages,
  messagesReceived,
  numberIn,
  partsIn,
};
