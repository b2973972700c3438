'use strict';
// The CONNECT tunnel's working path, end to end: a real forward proxy (the `proxy` package),
// plain or itself behind TLS, in front of an Infobip stand-in behind TLS with a certificate
// from a test CA. The client runs in a child process so that NODE_EXTRA_CA_CERTS, HTTPS_PROXY
// and NO_PROXY are read as Node-RED would read them.
const { execFileSync, execFile } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
require('should');
const { InfobipTestServer } = require('../../dev/infobip-server');

const API_KEY = 'tls-test-key-0123456789';

/** A test CA and a certificate for localhost / 127.0.0.1 signed by it, made with openssl. */
function makeCertificates(dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  try {
    openssl('version');
  } catch {
    throw new Error('The proxy/TLS tests need openssl to make a test CA: apt-get install -y openssl');
  }
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=binary-sms test CA',
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  );
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  );
  const read = (name) => fs.readFileSync(path.join(dir, name));
  return { caFile: path.join(dir, 'ca.pem'), key: read('server.key'), cert: read('server.pem') };
}

describe('through a forward proxy to Infobip over TLS', function () {
  this.timeout(30000);
  let dir;
  let tls;
  let infobip;
  let front;
  let serverNames;
  let proxies;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-tls-'));
    tls = makeCertificates(dir);
    infobip = await new InfobipTestServer({ apiKey: API_KEY }).start();
    serverNames = [];
    front = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      serverNames.push(req.socket.servername);
      infobip.handle(req, res);
    });
    await new Promise((resolve) => front.listen(0, '127.0.0.1', resolve));
  });
  after(async function () {
    await new Promise((resolve) => front.close(resolve));
    await infobip.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A forward proxy that wants user "pu", password "pp"; over TLS when `secure`. */
  async function startProxy(secure) {
    const { createProxy } = await import('proxy');
    const server = secure ? https.createServer({ key: tls.key, cert: tls.cert }) : http.createServer();
    const proxy = createProxy(server);
    proxy.tunnels = [];
    proxy.authenticate = (req) =>
      req.headers['proxy-authorization'] === 'Basic ' + Buffer.from('pu:pp').toString('base64');
    proxy.on('connect', (req) => proxy.tunnels.push(req.url));
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxies.push(proxy);
    return proxy;
  }
  beforeEach(() => {
    proxies = [];
    serverNames.length = 0;
    infobip.reset();
  });
  afterEach(async function () {
    for (const proxy of proxies) {
      proxy.closeAllConnections?.();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  async function sendOnce(env) {
    const baseUrl = `https://localhost:${front.address().port}`;
    const script = path.join(__dirname, '..', 'support', 'send-once.js');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [script, JSON.stringify({ baseUrl, apiKey: API_KEY })],
      {
        env: { PATH: process.env.PATH, ...env },
      },
    );
    return JSON.parse(stdout);
  }

  it('tunnels through an http proxy with its credentials; the certificate is verified and SNI kept', async function () {
    const proxy = await startProxy(false);
    const result = await sendOnce({
      NODE_EXTRA_CA_CERTS: tls.caFile,
      HTTPS_PROXY: `http://pu:pp@127.0.0.1:${proxy.address().port}`,
    });
    result.should.eql({ statusCode: 200, groupName: 'PENDING' });
    proxy.tunnels.should.eql([`localhost:${front.address().port}`]);
    serverNames.should.eql(['localhost']);
    infobip.requests.should.have.length(1);
  });

  it('speaks TLS to an https:// proxy, so its credentials never cross the network in clear', async function () {
    const proxy = await startProxy(true);
    const result = await sendOnce({
      NODE_EXTRA_CA_CERTS: tls.caFile,
      HTTPS_PROXY: `https://pu:pp@localhost:${proxy.address().port}`,
    });
    result.should.eql({ statusCode: 200, groupName: 'PENDING' });
    proxy.tunnels.should.have.length(1);
  });

  it('a certificate from an unknown CA is refused through the tunnel too', async function () {
    const proxy = await startProxy(false);
    const result = await sendOnce({ HTTPS_PROXY: `http://pu:pp@127.0.0.1:${proxy.address().port}` });
    result.should.have.property('error');
    proxy.tunnels.should.have.length(1);
    infobip.requests.should.be.empty();
  });

  it('NO_PROXY naming the host: no tunnel, straight to Infobip', async function () {
    const proxy = await startProxy(false);
    const result = await sendOnce({
      NODE_EXTRA_CA_CERTS: tls.caFile,
      HTTPS_PROXY: `http://pu:pp@127.0.0.1:${proxy.address().port}`,
      NO_PROXY: 'localhost',
    });
    result.should.eql({ statusCode: 200, groupName: 'PENDING' });
    proxy.tunnels.should.be.empty();
  });
});
