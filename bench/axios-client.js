'use strict';
// (c) The client-side limit: a bare axios client with keep-alive, `concurrency` requests in flight.
const http = require('node:http');
const axios = require('axios');

async function main() {
  const { baseUrl, apiKey, messages, concurrency, destinations } = JSON.parse(process.argv[2]);
  const client = axios.create({
    baseURL: baseUrl,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: concurrency }),
    headers: { Authorization: `App ${apiKey}`, 'Content-Type': 'application/json', Accept: 'application/json' },
  });
  const payload = Buffer.from([0x0f, 0xc2, 0x4a, 0xbf, 0x34, 0x13, 0xba]);
  const hex = Array.from(payload, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
  let next = 0;
  let statuses = 0;
  const started = Date.now();
  async function worker() {
    while (next < messages) {
      next++;
      const response = await client.post('/sms/1/binary/single', {
        to: destinations,
        binary: { hex, dataCoding: 4, esmClass: 0 },
      });
      statuses += response.data.messages.length;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  process.send({ statuses, errors: 0, ms: Date.now() - started });
}

main();
