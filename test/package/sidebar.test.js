'use strict';
// The admin endpoint behind the editor's Infobip sidebar, in a real Node-RED with adminAuth:
// only a user allowed to read gets the accounts' pictures, and they hold counts, never secrets.
require('should');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNodeRed } = require('../../dev/red-process');
const { requireFromNodeRed } = require('../../dev/node-red-under-test');

const root = path.resolve(__dirname, '..', '..');
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
        ],
      },
    });
  });
  after(async function () {
    await red?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** A token for a user, with the scope the user may have. */
  async function token(username, scope) {
    const response = await fetch(red.url + '/auth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_id: 'node-red-editor',
        grant_type: 'password',
        scope,
        username,
        password: 'secret-password',
      }),
    });
    response.status.should.equal(200);
    return (await response.json()).access_token;
  }
  const accounts = (bearer) =>
    red.request(
      'GET',
      '/infobip-binary-sms/accounts',
      bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {},
    );

  it('answers a user allowed to read with one picture per account, counts only', async function () {
    const { status, json } = await accounts(await token('reader', 'read'));
    status.should.equal(200);
    json.should.have.length(1);
    json[0].should.have.properties({ id: 'sbacc', name: 'Fleet account', api: 'v3', state: 'notSetUp', waiting: 0 });
    json[0].should.not.have.properties(['credentials', 'apiKey', 'baseUrl']);
  });

  it('answers nothing to a user without the permission, or to no one', async function () {
    (await accounts(await token('flowsonly', 'flows.read'))).status.should.equal(401);
    (await accounts()).status.should.equal(401);
  });
});
