#!/usr/bin/env node
// `npm start`: a local Node-RED on 127.0.0.1:1880 with this package loaded from the
// working tree and examples 1 and 4 deployed (send; send and follow delivery reports). Its account points at the local Infobip
// test server, or at the real API when INFOBIP_BASE_URL and INFOBIP_API_KEY are set.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { startNodeRed } = require('../test/support/red-process');
const { InfobipTestServer } = require('../test/support/infobip-server');

const root = path.resolve(__dirname, '..');
const userDir = path.join(root, '.demo');
const port = Number(process.env.PORT ?? 1880);

async function main() {
  const realApi = process.env.INFOBIP_BASE_URL && process.env.INFOBIP_API_KEY;
  let infobip;
  let account;
  if (realApi) {
    account = { baseUrl: process.env.INFOBIP_BASE_URL, apiKey: process.env.INFOBIP_API_KEY };
  } else {
    infobip = await new InfobipTestServer().start(0);
    account = { baseUrl: infobip.baseUrl, apiKey: infobip.apiKey };
  }

  fs.mkdirSync(userDir, { recursive: true });
  const red = await startNodeRed({ userDir, port, nodesDir: [root], logLevel: 'info' });
  const example = ['01 send hex to two numbers.json', '04 send and follow delivery reports.json'].flatMap((file) =>
    JSON.parse(fs.readFileSync(path.join(root, 'examples', file), 'utf8')),
  );
  for (const node of example) {
    if (node.type === 'infobip-account') {
      Object.assign(node, {
        name: realApi ? 'Infobip (from environment)' : 'Local test server',
        baseUrl: account.baseUrl,
      });
      node.credentials = { apiKey: account.apiKey };
    }
  }
  await red.deploy(example);

  console.log(`
  Node-RED is running with node-red-contrib-infobip-binary-sms: ${red.url}/
  Messages go to ${realApi ? `the real Infobip API at ${account.baseUrl}` : `the local Infobip test server at ${account.baseUrl}`}.

  1. Open ${red.url}/ in a browser.
  2. Click the button on the left of the "hex payload" inject node.
  3. Open the Debug sidebar (the bug icon, top right): one message per destination
     shows the status Infobip gave it.
  4. On the tab "send and follow delivery reports", click "device command": a few seconds
     later its Infobip report node puts each delivery report in the Debug sidebar, under
     "delivered" (two numbers) or "not delivered" (41700000002, UNDELIVERABLE on the test server).

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
