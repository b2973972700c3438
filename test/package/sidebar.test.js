'use strict';
// The admin endpoint behind the editor's Infobip sidebar, in a real Node-RED with adminAuth:
// only a user allowed to read gets the accounts' pictures, and they hold counts, never secrets;
// comms, which every user with status.read hears, carries only that something changed.
require('should');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');
const { startNodeRed } = require('../../dev/red-process');
const { requireFromNodeRed } = require('../../dev/node-red-under-test');

const root = path.resolve(__dirname, '..', '..');
/** Waits (up to 10 s) until `check()` holds. */
async function until(check, what) {
  const deadline = Date.now() + 10000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
const bcrypt = requireFromNodeRed('bcryptjs');

describe('the Infobip sidebar endpoint with adminAuth', function () {
  this.timeout(60000);
  let red;
  let userDir;

  before(async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-sidebar-'));
    const flows = [
      { id: 'sbtab', type: 'tab', label: 'sidebar' },
      { id: 'sbacc', type: 'infobip-account', name: 'Fleet account', api: 'v3', baseUrl: 'https://api.infobip.com' },
      // Sends through the account (without an API key) a few times a second: each fails and is counted.
      { id: 'sbgo', type: 'inject', z: 'sbtab', props: [], repeat: '0.3', once: true, wires: [['sbsms']] },
      { id: 'sbsms', type: 'binary-sms', z: 'sbtab', account: 'sbacc', to: '41793026727', payload: '', wires: [[]] },
    ];
    fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
    const password = bcrypt.hashSync('secret-password', 8);
    red = await startNodeRed({
      userDir,
      nodesDir: [root],
      adminAuth: {
        type: 'credentials',
        users: [
          { username: 'reader', password, permissions: 'read' },
          { username: 'flowsonly', password, permissions: 'flows.read' },
          { username: 'watcher', password, permissions: ['flows.read', 'status.read'] },
        ],
      },
    });
  });
  after(async function () {
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** A token for a user, with the scope the user may have. */
  const token = (username, scope) => red.token(username, 'secret-password', scope, 'node-red-editor');
  const accounts = (bearer) =>
    red.request(
      'GET',
      '/infobip-binary-sms/accounts',
      bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {},
    );

  it('answers a user allowed to read with one picture per account, counts only', async function () {
    const { status, json } = await accounts(await token('reader', 'read'));
    status.should.equal(200);
    json.stamp.should.be.a.Number();
    json.accounts.should.have.length(1);
    json.accounts[0].should.have.properties({
      id: 'sbacc',
      name: 'Fleet account',
      api: 'v3',
      state: 'notSetUp',
      waiting: 0,
    });
    json.accounts[0].should.not.have.properties(['credentials', 'apiKey', 'baseUrl']);
  });

  it('answers nothing to a user without the permission, or to no one', async function () {
    (await accounts(await token('flowsonly', 'flows.read'))).status.should.equal(401);
    (await accounts()).status.should.equal(401);
  });

  it('pushes over comms only that something changed: a user with status.read but not the permission hears no counts', async function () {
    const heard = [];
    const socket = new WebSocket(red.url.replace(/^http/, 'ws') + '/comms');
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    // comms answers the auth with one object, and sends messages in arrays.
    socket.on('message', (data) => heard.push(...[JSON.parse(String(data))].flat()));
    try {
      socket.send(JSON.stringify({ auth: await token('watcher', 'flows.read status.read') }));
      await until(() => heard.some((message) => message.auth === 'ok'), 'comms authenticated');
      socket.send(JSON.stringify({ subscribe: 'infobip-binary-sms/#' }));
      // The inject fails a send every 0.3 s: the account changes, and comms says so.
      const pushes = () => heard.filter((message) => message.topic === 'infobip-binary-sms/accounts');
      await until(() => pushes().length >= 2, 'two pushes');
      for (const { data } of pushes()) data.should.eql({ changed: true });
      // What the pushes would have said: the editor reads it through the endpoint, with the permission.
      (await accounts(await token('reader', 'read'))).json.accounts[0].total.failed.should.be.above(0);
      (await accounts(await token('watcher', 'flows.read status.read'))).status.should.equal(401);
    } finally {
      socket.close();
    }
  });
});
