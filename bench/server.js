'use strict';
// The local Infobip stand-in in its own process, so that it does not share a core with the client measured.
const { InfobipTestServer } = require('../dev/infobip-server');

new InfobipTestServer({
  apiKey: process.env.API_KEY,
  faultRate: Number(process.env.FAULT_RATE ?? 0),
  faultMix: process.env.FAULT_MIX === '1',
  delayMs: Number(process.env.DELAY_MS ?? 0),
  ratePerSecond: Number(process.env.RATE_PER_SECOND ?? 0),
})
  .start(0)
  .then((server) => process.send({ baseUrl: server.baseUrl }));
