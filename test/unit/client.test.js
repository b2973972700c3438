'use strict';
// The HTTP client against the local Infobip stand-in: what it honours of the server's answers.
require('should');
const { InfobipClient } = require('../../dist/lib/http/client');
const { InfobipTestServer } = require('../../dev/infobip-server');

describe('InfobipClient', function () {
  let server;
  let client;
  beforeEach(async function () {
    server = await new InfobipTestServer({ apiKey: 'client-test-key' }).start();
    client = new InfobipClient({
      api: 'v1',
      authType: 'apiKey',
      apiKey: 'client-test-key',
      baseUrl: server.baseUrl,
      timeoutMs: 5000,
      maxSockets: 1,
      maxPollWaitMs: 600_000,
    });
  });
  afterEach(async function () {
    client.close();
    await server.stop();
  });

  it("a report poll's Retry-After is capped at the account's Wait on 429", async function () {
    server.plannedReports.push({ status: 429, headers: { 'retry-after': String(24 * 86400) }, body: {} });
    const error = await client.fetchReports(1000).then(
      () => undefined,
      (failure) => failure,
    );
    error.kind.should.equal('throttled');
    error.retryAfterMs.should.equal(600_000);
  });

  it("a Retry-After date is measured against the answer's Date header, not this machine's clock", async function () {
    // The server's clock is an hour behind this machine's: the date is 20 s after the answer.
    const answered = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
    const headers = {
      date: new Date(answered).toUTCString(),
      'retry-after': new Date(answered + 20_000).toUTCString(),
    };
    server.plannedReports.push({ status: 429, headers, body: {} });
    const error = await client.fetchReports(1000).catch((failure) => failure);
    error.retryAfterMs.should.equal(20_000);
  });

  it('a shorter Retry-After is honoured as given', async function () {
    server.plannedReports.push({ status: 503, headers: { 'retry-after': '7' }, body: {} });
    const error = await client.fetchReports(1000).catch((failure) => failure);
    error.retryAfterMs.should.equal(7000);
  });
});
