'use strict';
// `npm start` as a newcomer runs it: the demo Node-RED with the stand-in, and the walk-through's
// loop seen where the newcomer sees it, in the Debug sidebar: a command, its delivery report, and
// the demo device's reply carrying the command as msg.sent.
require('should');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const WebSocket = require('ws');
const { until } = require('../../dev/wait');

const root = path.resolve(__dirname, '..', '..');

/** A port that is free, with the next one free too (the stand-in listens there). */
async function freePortPair() {
  for (;;) {
    const port = await new Promise((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: found } = probe.address();
        probe.close(() => resolve(found));
      });
    });
    const nextFree = await new Promise((resolve) => {
      const probe = net.createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port + 1, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (nextFree && port < 65535) return port;
  }
}

/** Reads the Debug sidebar as the editor does, over /comms: each debug message is pushed to `into`. */
async function debugSidebar(port, into) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/comms`);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.on('message', (data) => {
    const parsed = JSON.parse(String(data));
    for (const event of Array.isArray(parsed) ? parsed : [parsed]) {
      if (event.topic === 'debug') into.push(event.data);
    }
  });
  socket.send(JSON.stringify({ subscribe: 'debug' }));
  return socket;
}

describe('npm start: the demo walk-through', function () {
  this.timeout(90000);
  let child;
  let demoDir;
  let output = '';
  let socket;

  /** `npm start` as a newcomer runs it, on `port`, its output collected. */
  const startDemo = (port) => {
    const started = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
      env: { ...process.env, PORT: String(port), DEMO_DIR: demoDir, INFOBIP_BASE_URL: '', INFOBIP_API_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.stdout.on('data', (chunk) => (output += chunk));
    started.stderr.on('data', (chunk) => (output += chunk));
    return started;
  };

  after(async function () {
    socket?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
    if (demoDir) fs.rmSync(demoDir, { recursive: true, force: true });
  });

  it("step 4: a click sends the command; its report and the device's reply with msg.sent reach the Debug sidebar", async function () {
    const port = await freePortPair();
    demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-demo-'));
    child = startDemo(port);
    await until(() => output.includes('Examples 1, 3 and 6 are deployed.'), 60000, 'the demo to start').catch(
      (error) => {
        throw new Error(`${error.message}:\n${output}`);
      },
    );
    output.should.containEql('click "ask for position"');

    const url = `http://127.0.0.1:${port}`;
    const debug = [];
    socket = await debugSidebar(port, debug);

    const flows = await (await fetch(`${url}/flows`)).json();
    const button = flows.find((node) => node.type === 'inject' && node.name === 'ask for position');
    (await fetch(`${url}/inject/${button.id}`, { method: 'POST' })).status.should.equal(200);

    const shown = (name) => debug.filter((entry) => entry.name === name);
    await until(() => shown('device reply, with msg.sent').length === 1, 20000, 'the reply in the Debug sidebar');
    shown('accepted by Infobip')
      .map((entry) => entry.msg)
      .should.eql(['PENDING_ACCEPTED']);
    shown('delivery report')
      .map((entry) => entry.msg)
      .should.containEql('DELIVERED_TO_HANDSET');
    const reply = JSON.parse(shown('device reply, with msg.sent')[0].msg);
    reply.should.have.properties({ payload: 'ACK A1', from: '41793026788' });
    reply.sent.should.have.properties({ topic: 'position?', to: '41793026788' });
  });

  it('started again on another port, the kept flows follow: the demo account and the Public URL move with it', async function () {
    socket?.close();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    await exited;
    const port = await freePortPair();
    output = '';
    child = startDemo(port);
    await until(() => output.includes('were kept'), 60000, 'the demo to start again').catch((error) => {
      throw new Error(`${error.message}:\n${output}`);
    });
    const url = `http://127.0.0.1:${port}`;
    const moved = async () => {
      const flows = await (await fetch(`${url}/flows`)).json();
      const account = flows.find((node) => node.type === 'infobip-account');
      const report = flows.find((node) => node.type === 'binary-sms-report');
      return account.baseUrl === `http://127.0.0.1:${port + 1}` && report.publicUrl === url;
    };
    await until(moved, 10000, 'the kept flows to follow the new ports');
    // And the loop works there: the command's delivery report is pushed to this start's Node-RED.
    const debug = [];
    socket = await debugSidebar(port, debug);
    const flows = await (await fetch(`${url}/flows`)).json();
    const button = flows.find((node) => node.type === 'inject' && node.name === 'ask for position');
    (await fetch(`${url}/inject/${button.id}`, { method: 'POST' })).status.should.equal(200);
    await until(
      () => debug.some((entry) => entry.name === 'delivery report' && entry.msg === 'DELIVERED_TO_HANDSET'),
      20000,
      'the delivery report in the Debug sidebar',
    );
  });
});
