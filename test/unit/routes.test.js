'use strict';
// The route helper and the webhook handler on a bare express app, as Node-RED's httpNode is one.
const http = require('node:http');
require('should');
const { postRoute } = require('../../dist/lib/receive/routes');
const { webhookHandler } = require('../../dist/lib/receive/webhook');
const { requireFromNodeRed } = require('../../dev/node-red-under-test');

const express = requireFromNodeRed('express');

describe('postRoute and webhookHandler', function () {
  let app;
  let server;
  let warnings;
  let node;
  let emitted;
  const RED = (settings = {}) => ({ settings, httpNode: app });

  beforeEach(async function () {
    app = express();
    warnings = [];
    emitted = [];
    node = { warn: (text) => warnings.push(text), error: () => undefined };
    server = http.createServer(app);
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterEach(() => new Promise((resolve) => server.close(resolve)));

  const handler = (token = 'tok') =>
    webhookHandler({
      token,
      read: (body) => (Array.isArray(body?.items) ? body.items : undefined),
      expected: '{ "items": [...] }',
      emit: async (items) => emitted.push(...items),
    });
  const post = (body, { query = '?token=tok', type = 'application/json' } = {}) =>
    fetch(`http://127.0.0.1:${server.address().port}/hook${query}`, {
      method: 'POST',
      headers: type ? { 'content-type': type } : {},
      body,
    });
  // Express 4 keeps the routes in _router, express 5 in router.
  const routes = () => (app._router ?? app.router).stack.filter((layer) => layer.route?.path === '/hook');

  it('registers one route, answers by the rules, and is gone after remove()', async function () {
    const route = postRoute(RED(), node, '/hook', handler(), 'no root');
    routes().should.have.length(1);
    (await post('{"items":[1,2]}')).status.should.equal(200);
    (await post('{"items":[1]}', { query: '?token=bad' })).status.should.equal(401);
    (await post('{"items":[1]}', { type: 'text/plain' })).status.should.equal(415);
    (await post('{"items":[1]}', { type: 'application/json; charset=utf-8' })).status.should.equal(200);
    (await post('{"other":1}')).status.should.equal(400);
    (await post('not json')).status.should.equal(400);
    (await post(JSON.stringify({ items: [], pad: 'x'.repeat(1024 * 1024) }))).status.should.equal(413);
    emitted.should.eql([1, 2, 1]);
    route.remove();
    routes().should.be.empty();
    (await post('{"items":[1]}')).status.should.equal(404);
  });

  it('while the node closes, a push is answered 503 with Retry-After and nothing is emitted', async function () {
    let accepting = true;
    postRoute(
      RED(),
      node,
      '/hook',
      webhookHandler({
        token: 'tok',
        read: (body) => body.items,
        expected: '{ "items": [...] }',
        emit: async (items) => emitted.push(...items),
        accepting: () => accepting,
      }),
      'no root',
    );
    (await post('{"items":[1]}')).status.should.equal(200);
    accepting = false;
    const refused = await post('{"items":[2]}');
    refused.status.should.equal(503);
    refused.headers.get('retry-after').should.equal('10');
    emitted.should.eql([1]);
  });

  it('runs httpNodeMiddleware first, as core http in does', async function () {
    const seen = [];
    const middleware = (req, _res, next) => {
      seen.push(req.url);
      next();
    };
    postRoute(RED({ httpNodeMiddleware: middleware }), node, '/hook', handler(), 'no root');
    (await post('{"items":[]}')).status.should.equal(200);
    seen.should.eql(['/hook?token=tok']);
  });

  it('registers nothing when httpNodeRoot is false, and says so', function () {
    const route = postRoute(RED({ httpNodeRoot: false }), node, '/hook', handler(), 'no root');
    (route === undefined).should.be.true();
    warnings.should.eql(['no root']);
  });

  it('an empty token accepts any push', async function () {
    postRoute(RED(), node, '/hook', handler(''), 'no root');
    (await post('{"items":[7]}', { query: '' })).status.should.equal(200);
    emitted.should.eql([7]);
  });
});
