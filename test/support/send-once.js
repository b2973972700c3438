'use strict';
// Sends one request with the account's client in a process of its own, so that the test can
// give it an environment (HTTPS_PROXY, NO_PROXY, NODE_EXTRA_CA_CERTS) that Node reads at start.
//   node send-once.js '{"baseUrl": "...", "apiKey": "..."}'  →  prints the result as JSON.
const { InfobipClient } = require('../../dist/lib/http/client');
const { sendRequests } = require('../../dist/lib/send/outputs');

const { baseUrl, apiKey } = JSON.parse(process.argv[2]);
const client = new InfobipClient({ api: 'v3', authType: 'apiKey', apiKey, baseUrl, timeoutMs: 10000, maxSockets: 1 });
sendRequests(client, [{ to: ['41793026727'], binary: { hex: 'ab', dataCoding: 0, esmClass: 0 } }])
  .then(
    ([result]) => ({ statusCode: result.statusCode, groupName: result.body.messages[0].status.groupName }),
    (error) => ({ error: error.key, kind: error.kind, params: error.params }),
  )
  .then((result) => {
    process.stdout.write(JSON.stringify(result));
    client.close();
  });
