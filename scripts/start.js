#!/usr/bin/env node
// `npm start`: a local Node-RED on 127.0.0.1:$PORT (default 1880) with this package loaded from
// the working tree. On the first start (an empty .demo/, or $DEMO_DIR) it deploys examples 1, 3 and 6;
// later starts keep whatever flows you made. The accounts point at the local Infobip stand-in on $PORT + 1, or at
// the real API when INFOBIP_BASE_URL and INFOBIP_API_KEY are set. Node-RED's own log is shown.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { ACCOUNT_FIELD_DEFAULTS } = require('../dist/lib/rules');
const { startNodeRed } = require('../dev/red-process');
const { InfobipTestServer } = require('../dev/infobip-server');
const { withDemoDestinations, demoCurl } = require('../dev/demo');

const root = path.resolve(__dirname, '..');
/** Example 3's curl line, from its comment, on one line. */
const curlLine = () => {
  const flow = JSON.parse(fs.readFileSync(path.join(root, 'examples', '03 HTTP endpoint.json'), 'utf8'));
  const comment = flow.find((node) => node.type === 'comment').info;
  return /```\n(curl [\s\S]*?)\n```/.exec(comment)[1].replace(/ \\\n\s*/g, ' ');
};
const userDir = process.env.DEMO_DIR || path.join(root, '.demo');
const port = Number(process.env.PORT ?? 1880);
const EXAMPLES = [
  '01 send hex to two numbers.json',
  '03 HTTP endpoint.json',
  '06 command, report and device reply.json',
];

function hasFlows() {
  try {
    return JSON.parse(fs.readFileSync(path.join(userDir, 'flows.json'), 'utf8')).length > 0;
  } catch {
    return false;
  }
}

function portTaken(error, which) {
  if (!/EADDRINUSE/.test(String(error?.message ?? error))) return false;
  console.error(
    `Port ${which} is already in use: stop what uses it, or start on another port, e.g. PORT=1890 npm start`,
  );
  return true;
}

async function main() {
  const realApi = process.env.INFOBIP_BASE_URL && process.env.INFOBIP_API_KEY;
  let infobip;
  let account;
  if (realApi) {
    account = { baseUrl: process.env.INFOBIP_BASE_URL, apiKey: process.env.INFOBIP_API_KEY };
  } else {
    // A fixed port, so that flows kept from an earlier start still reach it.
    infobip = await new InfobipTestServer({ reportDelayMs: 2000 }).start(port + 1).catch((error) => {
      if (!portTaken(error, port + 1)) throw error;
      process.exit(1);
    });
    account = { baseUrl: infobip.baseUrl, apiKey: infobip.apiKey };
  }

  fs.mkdirSync(userDir, { recursive: true });
  const firstStart = !hasFlows();
  // httpNodeRoot "/" as in a default Node-RED, so example 3's curl line works as written.
  const red = await startNodeRed({ userDir, port, nodesDir: [root], logLevel: 'info', httpNodeRoot: '/' }).catch(
    (error) => {
      if (!portTaken(error, port)) throw error;
      process.exit(1);
    },
  );
  // Node-RED's own log (node errors, debug nodes set to the console) goes to this terminal.
  process.stdout.write(red.output());
  red.child.stdout.pipe(process.stdout);
  red.child.stderr.pipe(process.stderr);

  const DEMO_ACCOUNT = 'demo-account';
  if (firstStart) {
    // One demo account for every example: each example file carries its own, so the others are
    // dropped and their nodes pointed at the one kept.
    const DEMO_TOKEN = require('node:crypto').randomBytes(16).toString('hex');
    const examples = EXAMPLES.flatMap((file) => JSON.parse(fs.readFileSync(path.join(root, 'examples', file), 'utf8')));
    // The examples ship with To empty; the stand-in's demo numbers go in (a real account's numbers are the user's to set).
    const flows = (realApi ? examples : withDemoDestinations(examples))
      .filter((node) => node.type !== 'infobip-account')
      .map((node) => (node.account ? { ...node, account: DEMO_ACCOUNT } : node))
      // The report node gets its reports pushed, with no portal step: every v3 message names this
      // Node-RED as its report URL (the stand-in, like Infobip, pushes there). The inbound node
      // polls, so that it still hears the stand-in's devices after a restart that kept the flows.
      .map((node) =>
        node.type === 'binary-sms-report' && !realApi
          ? { ...node, mode: 'webhook', publicUrl: red.url, credentials: { token: DEMO_TOKEN } }
          : node,
      );
    flows.push({
      id: DEMO_ACCOUNT,
      type: 'infobip-account',
      ...ACCOUNT_FIELD_DEFAULTS,
      name: realApi ? 'Infobip (from environment)' : 'Infobip stand-in (demo)',
      baseUrl: account.baseUrl,
      credentials: { apiKey: account.apiKey },
    });
    await red.deploy(flows);
  } else if (!realApi) {
    // Kept flows name the ports of the start that made them: keep them in step with this one's.
    const { json: kept } = await red.request('GET', '/flows');
    const demoPublicUrl = /^http:\/\/127\.0\.0\.1:\d+$/;
    let changed = false;
    const flows = kept.map((node) => {
      if (node.id === DEMO_ACCOUNT && node.baseUrl !== account.baseUrl) {
        changed = true;
        return { ...node, baseUrl: account.baseUrl };
      }
      if (node.type === 'binary-sms-report' && demoPublicUrl.test(node.publicUrl ?? '') && node.publicUrl !== red.url) {
        changed = true;
        return { ...node, publicUrl: red.url };
      }
      return node;
    });
    if (changed) await red.deploy(flows);
  }

  console.log(`
  Node-RED is running with node-red-contrib-infobip-binary-sms: ${red.url}/
  Messages go to ${realApi ? `the real Infobip API at ${account.baseUrl}` : `the local Infobip test server at ${account.baseUrl}`}.
  ${firstStart ? 'Examples 1, 3 and 6 are deployed.' : `Your flows in ${userDir} were kept (delete it to start again from the examples).`}

  1. Open ${red.url}/ in a browser.
  2. Click the button on the left of the "hex payload" inject node.
  3. Open the Debug sidebar (the bug icon, top right): one message per destination
     shows the status Infobip gave it.
  4. On the tab "a command, its report and the device's reply", click "ask for position":
     - "accepted by Infobip" shows PENDING at once;
     - two seconds later the stand-in pushes the delivery report to this Node-RED (the report
       node's Public URL, which every message names: no portal step): "delivery report" shows
       DELIVERED_TO_HANDSET (the reports of step 2's two numbers show there too: one demo
       account serves every example);
     - a second after delivery the demo device 41793026788 answers "ACK A1", and within 5 s
       the inbound node's poll brings it: "device reply, with msg.sent" shows the reply with
       msg.sent, the command it answers (msg.sent.topic is "position?").
  5. Open the Infobip tab of the sidebar (its icon, or the sidebar's drop-down list): the demo
     account's card shows what it is doing, what it sent and what came back, with a chart of the
     last 10 minutes; click step 2's button again and watch its counts move.
  6. From a terminal, example 3's endpoint sends what you POST:
     ${realApi ? curlLine().replace('http://NODE-RED', red.url) : demoCurl(curlLine(), red.url)}

  Ctrl-C stops Node-RED${realApi ? '' : ' and the test server'}.
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await red.stop();
    await infobip?.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  red.child.on('exit', () => stop());
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
