'use strict';
// The package as a user gets it: npm pack, npm install of the tarball into a fresh
// Node-RED user directory, a real Node-RED started on it, and a message sent through it.
const { until: waitUntil } = require('../../dev/wait');
const { version: nodeRedVersion } = require('../../dev/node-red-under-test');
const should = require('should');
const { execFile } = require('node:child_process');
const { promisify } = require('node:util');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const { startNodeRed } = require('../../dev/red-process');
const { withDemoDestinations, demoCurl } = require('../../dev/demo');
const { InfobipTestServer } = require('../../dev/infobip-server');
const { pack, userDirWithPackage } = require('../support/packed');
const { sentMessage, numberIn } = require('../support/api');

const root = path.resolve(__dirname, '..', '..');
const MODULE = 'node-red-contrib-infobip-binary-sms';
const API_KEY = 'packaged-install-key-42';

describe('the packed tarball in a real Node-RED', function () {
  this.timeout(180000);
  let userDir;
  let red;
  let infobip;

  before(async function () {
    userDir = userDirWithPackage();
    infobip = await new InfobipTestServer({ apiKey: API_KEY }).start();
    red = await startNodeRed({ userDir });
  });

  after(async function () {
    await red?.stop();
    await infobip?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('holds only what runs, and what the README shows: nodes, templates, locales, icons, examples, pictures', function () {
    const { files, size } = pack();
    // The README's pictures and CHANGELOG ship too, so the Flow Library page shows them.
    const shown = [...fs.readFileSync(path.join(root, 'README.md'), 'utf8').matchAll(/\]\((docs\/[\w-]+\.png)\)/g)].map(
      ([, picture]) => picture,
    );
    shown.length.should.be.aboveOrEqual(1);
    files.should.containDeep(['CHANGELOG.md', ...shown]);
    // Only those: the pictures of the reference pages in docs/ stay in the repository.
    files
      .filter((file) => file.endsWith('.png'))
      .sort()
      .should.eql([...shown].sort());
    const pictures = shown.reduce((sum, picture) => sum + fs.statSync(path.join(root, picture)).size, 0);
    // Each language's catalogs and help add about 25 kB packed (en-US, de, ja); with the code, about 160 kB in all.
    (size - pictures).should.be.below(176 * 1024);
    files.should.containDeep([
      'package.json',
      'README.md',
      'dist/binary-sms.js',
      'dist/binary-sms.html',
      'dist/binary-sms-report.js',
      'dist/binary-sms-report.html',
      'dist/infobip-sms-in.js',
      'dist/infobip-sms-in.html',
      'dist/infobip-account.js',
    ]);
    files.should.containDeep([
      'dist/locales/en-US/binary-sms.json',
      'dist/locales/en-US/binary-sms.html',
      'dist/locales/en-US/binary-sms-report.json',
      'dist/locales/en-US/binary-sms-report.html',
      'dist/locales/en-US/infobip-sms-in.json',
      'dist/locales/en-US/infobip-sms-in.html',
      'dist/icons/binary-sms.svg',
    ]);
    for (const language of ['de', 'ja']) {
      for (const node of ['binary-sms', 'infobip-account', 'binary-sms-report', 'infobip-sms-in']) {
        files.should.containDeep([`dist/locales/${language}/${node}.json`, `dist/locales/${language}/${node}.html`]);
      }
    }
    for (const file of files) {
      file.should.not.match(/^(test|nodes|scripts|bench|\.ci)\//);
      file.should.not.match(/\.ts$/);
    }
  });

  it('registers all four types from the package, with no load error', async function () {
    const { json } = await red.request('GET', '/nodes');
    const sets = json.filter((set) => set.module === MODULE);
    sets
      .map((set) => set.types)
      .flat()
      .sort()
      .should.eql(['binary-sms', 'binary-sms-report', 'infobip-account', 'infobip-sms-in']);
    sets.forEach((set) => {
      should(set.err).be.undefined();
      set.enabled.should.be.true();
    });
  });

  it('serves the editor templates with the bundled rules and the help text', async function () {
    const { text } = await red.request('GET', '/nodes', { accept: 'text/html' });
    text.should.containEql('data-template-name="binary-sms"');
    text.should.containEql('data-template-name="infobip-account"');
    text.should.containEql('data-help-name="binary-sms"');
    text.should.containEql('data-help-name="infobip-account"');
    text.should.containEql('data-template-name="infobip-sms-in"');
    text.should.containEql('data-help-name="infobip-sms-in"');
    // The editor scripts are bundled with the shared rules: no module system is left for the page.
    text.should.match(/function isValidSender\(/);
    text.should.not.match(/\brequire\(|\bexports\./);
  });

  it('serves the en-US message catalog and the icon', async function () {
    const { json: catalogs } = await red.request('GET', '/nodes/messages?lng=en-US');
    catalogs[`${MODULE}/binary-sms`]['binary-sms'].label.to.should.equal('To');
    catalogs[`${MODULE}/infobip-account`]['infobip-account'].label.apiKey.should.equal('API key');
    catalogs[`${MODULE}/infobip-sms-in`]['infobip-sms-in'].paletteLabel.should.equal('Infobip inbound');
    const { json: icons } = await red.request('GET', '/icons');
    icons[MODULE].should.containEql('binary-sms.svg');
    const icon = await red.request('GET', `/icons/${MODULE}/binary-sms.svg`, { accept: 'image/svg+xml' });
    icon.status.should.equal(200);
    icon.text.should.match(/<svg/);
  });

  it('serves the Japanese message catalog, sidebar texts included, when the editor asks for ja', async function () {
    const { json: catalogs } = await red.request('GET', '/nodes/messages?lng=ja');
    catalogs[`${MODULE}/binary-sms`]['binary-sms'].label.to.should.equal('宛先');
    catalogs[`${MODULE}/infobip-account`]['infobip-account'].sidebar.name.should.equal('Infobipアカウント');
    catalogs[`${MODULE}/infobip-sms-in`]['infobip-sms-in'].paletteLabel.should.equal('Infobip受信');
  });

  it('lists the examples under Import → Examples', async function () {
    const files = fs.readdirSync(path.join(root, 'examples')).filter((file) => file.endsWith('.json'));
    files.length.should.be.aboveOrEqual(3);
    for (const file of files) {
      const name = encodeURIComponent(file.replace(/\.json$/, ''));
      const { status, json } = await red.request('GET', `/library/examples/flows/${MODULE}/${name}`);
      status.should.equal(200, file);
      json.some((node) => node.type === 'binary-sms').should.be.true(file);
    }
  });

  it('sends a message to the local Infobip server, and keeps the key out of the flows', async function () {
    await red.deploy([
      { id: 'flow1', type: 'tab', label: 'install test' },
      {
        id: 'acc1',
        type: 'infobip-account',
        name: 'local',
        baseUrl: infobip.baseUrl,
        authType: 'apiKey',
        credentials: { apiKey: API_KEY },
      },
      { id: 'httpin1', type: 'http in', z: 'flow1', url: '/send', method: 'post', wires: [['sms1']] },
      {
        id: 'sms1',
        type: 'binary-sms',
        z: 'flow1',
        account: 'acc1',
        to: '41793026727, 41793026834',
        dataCoding: 4,
        esmClass: 0,
        wires: [['join1']],
      },
      { id: 'join1', type: 'join', z: 'flow1', mode: 'auto', wires: [['resp1']] },
      { id: 'resp1', type: 'http response', z: 'flow1', wires: [] },
    ]);
    const response = await red.whenRouted('/api/send', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '0f c2 4a',
    });
    response.status.should.equal(200, red.output());
    const statuses = await response.json();
    statuses.map(numberIn).should.eql(['41793026727', '41793026834']);
    statuses.forEach((entry) => entry.status.groupName.should.equal('PENDING'));
    infobip.requests.should.have.length(1);
    sentMessage(infobip.requests[0]).binary.should.eql({ hex: '0f c2 4a', dataCoding: 4, esmClass: 0 });

    // The package's credential declaration decides this: a password credential is only ever
    // reported to the editor as set, never sent back.
    const { json: credentials } = await red.request('GET', '/credentials/infobip-account/acc1');
    credentials.should.have.property('has_apiKey', true);
    JSON.stringify(credentials).should.not.containEql(API_KEY);
  });

  it("declares the account's secrets as password credentials in the editor, never as flow properties", async function () {
    const { text } = await red.request('GET', '/nodes', { accept: 'text/html' });
    const definitions = {};
    const RED = {
      nodes: { registerType: (type, definition) => (definitions[type] = definition) },
      // No sidebar or comms: the account's script builds its sidebar tab only in onpaletteadd.
      _: (key) => key,
    };
    // jQuery as far as that script goes at load: every call and property chains.
    const chain = new Proxy(function () {}, { get: () => chain, apply: () => chain });
    for (const [, script] of text.matchAll(/<script type="text\/javascript">([\s\S]*?)<\/script>/g)) {
      if (/registerType\(["']infobip-account["']/.test(script)) {
        vm.runInNewContext(script, { RED, $: chain, window: { RED } });
      }
    }
    should(definitions['infobip-account']).be.ok();
    // A plain copy: objects made in the vm context do not carry should's assertions.
    const account = JSON.parse(JSON.stringify(definitions['infobip-account']));
    account.credentials.should.eql({
      apiKey: { type: 'password' },
      username: { type: 'text' },
      password: { type: 'password' },
      redisUrl: { type: 'password' },
    });
    Object.keys(account.defaults)
      .filter((key) => ['apiKey', 'username', 'password'].includes(key))
      .should.be.empty();
    Object.keys(account.defaults).should.containEql('baseUrl');
  });
});

describe('the examples in a real Node-RED', function () {
  this.timeout(120000);
  const examplesDir = path.join(root, 'examples');
  let red;
  let infobip;
  let userDir;

  before(async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-examples-'));
    infobip = await new InfobipTestServer({ apiKey: API_KEY }).start();
    red = await startNodeRed({ userDir, nodesDir: [root] });
  });
  after(async function () {
    await red?.stop();
    await infobip?.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  function pointAtTestServer(flow) {
    return withDemoDestinations(flow).map((node) =>
      node.type === 'infobip-account' ? { ...node, baseUrl: infobip.baseUrl, credentials: { apiKey: API_KEY } } : node,
    );
  }

  async function deployExample(file) {
    const flow = JSON.parse(fs.readFileSync(path.join(examplesDir, file), 'utf8'));
    flow
      .filter((node) => node.type !== 'tab' && node.z)
      .some((node) => node.type === 'comment')
      .should.be.true(`${file} explains itself`);
    await red.deploy(pointAtTestServer(flow));
    return flow;
  }

  async function inject(flow) {
    const injectNode = flow.find((node) => node.type === 'inject');
    const response = await red.whenRouted(`/inject/${injectNode.id}`, { method: 'POST' });
    response.status.should.equal(200);
  }

  const until = (condition) => waitUntil(condition, 10000, 'the test server');

  it("01 sends the inject node's hex payload to two numbers", async function () {
    infobip.reset();
    await inject(await deployExample('01 send hex to two numbers.json'));
    await until(() => infobip.requests.length === 1);
    sentMessage(infobip.requests[0]).to.should.eql(['41793026727', '41793026834']);
    sentMessage(infobip.requests[0]).binary.hex.should.equal('0f c2 4a bf 34 13 ba');
  });

  it('02 packs a device reading into bytes and sends it to a list', async function () {
    infobip.reset();
    await inject(await deployExample('02 device reading with join and catch.json'));
    await until(() => infobip.requests.length === 1);
    sentMessage(infobip.requests[0]).to.should.eql(['41793026727', '447911123456', '99912345678']);
    sentMessage(infobip.requests[0]).binary.hex.should.equal('07 00 d7 de');
  });

  it('03 answers a POST with the statuses, and a bad request with the error', async function () {
    infobip.reset();
    await deployExample('03 HTTP endpoint.json');
    const post = (body) =>
      red.whenRouted('/api/binary-sms', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post({ to: ['41793026727', '41793026834'], hex: '0f c2 4a' });
    ok.status.should.equal(200);
    (await ok.json()).map((entry) => entry.status.groupName).should.eql(['PENDING', 'PENDING']);
    const bad = await post({ to: ['41793026727'], hex: 'xyz' });
    // Node-RED 4 and later pass the error's code to the Catch node: a caller's mistake is a 400.
    bad.status.should.equal(Number(nodeRedVersion.split('.')[0]) >= 4 ? 400 : 502);
    const text = (await bad.json()).error;
    text.should.match(/is not hex/);
    if (bad.status === 400) text.should.not.match(/msg\./);
    const missing = await post({ to: ['41793026727'] });
    const missingText = (await missing.json()).error;
    if (missing.status === 400) missingText.should.startWith('"hex" is missing: give the bytes to send');
    else missingText.should.match(/msg\.payload is missing/);
    infobip.requests.should.have.length(1);
    infobip.reset();
    infobip.plan({ status: 500, raw: 'down' });
    const failed = await post({ to: ['41793026727'], hex: '0f' });
    failed.status.should.equal(502);
    (await failed.json()).error.should.match(/HTTP 500/);
  });

  it('04 sends, then pulls the delivery reports of all three numbers', async function () {
    infobip.reset();
    infobip.reportDelayMs = 100;
    await inject(await deployExample('04 send and follow delivery reports.json'));
    await until(() => infobip.requests.length === 1);
    sentMessage(infobip.requests[0]).to.should.eql(['41793026727', '41793026834', '41700000002']);
    await until(() => infobip.reportPolls.reduce((sum, poll) => sum + poll.answered, 0) >= 3);
    infobip.reports.should.be.empty();
  });

  it('05 sends a command valid for 10 minutes with its callbackData, then pulls its report', async function () {
    infobip.reset();
    infobip.reportDelayMs = 100;
    await inject(await deployExample('05 device command with a deadline.json'));
    await until(() => infobip.requests.length === 1);
    const [message] = infobip.requests[0].body.messages;
    message.options.validityPeriod.should.eql({ amount: 10, timeUnit: 'MINUTES' });
    message.webhooks.callbackData.should.equal('door-3/unlock');
    await until(() => infobip.reportPolls.some((poll) => poll.answered === 1 && poll.url.startsWith('/sms/3/reports')));
  });

  it('06 sends a command to a demo device, pulls its report, then pulls the device reply', async function () {
    infobip.reset();
    infobip.reportDelayMs = 100;
    await inject(await deployExample('06 command, report and device reply.json'));
    await until(() => infobip.requests.length === 1);
    sentMessage(infobip.requests[0]).to.should.eql(['41793026788']);
    await until(() => infobip.reportPolls.some((poll) => poll.answered === 1));
    await until(() => infobip.inboxPolls.some((poll) => poll.answered === 1));
    infobip.inboundMade.map((sms) => sms.text).should.eql(['ACK A1']);
  });

  it('07 sends a configuration block as 4 parts to port 16000, then pulls the reports of all 4', async function () {
    infobip.reset();
    infobip.reportDelayMs = 100;
    await inject(await deployExample('07 long configuration block to a port.json'));
    await until(() => infobip.longMessages.length === 1);
    const [block] = infobip.longMessages;
    block.should.have.properties({ to: '41793026727', count: 4, inOrder: true, requests: 1 });
    block.elements.should.eql(['05 04 3e 80 00 00']);
    block.data.startsWith('43 46 47 0c').should.be.true();
    await until(() => infobip.reportPolls.reduce((sum, poll) => sum + poll.answered, 0) === 4);
  });

  it('08 schedules a command as a bulk of its own, then cancels that bulk when the device reports in', async function () {
    infobip.reset();
    const flow = await deployExample('08 schedule a command and cancel it.json');
    await inject(flow);
    await until(() => infobip.requests.length === 1);
    const { bulkId, sendAt } = infobip.requests[0].body.options.schedule;
    bulkId.should.be.a.String();
    sendAt.should.match(/T02:00:00\.000\+0000$/);
    const reportedIn = flow.filter((node) => node.type === 'inject')[1];
    (await red.whenRouted(`/inject/${reportedIn.id}`, { method: 'POST' })).status.should.equal(200);
    await until(() => infobip.bulkCalls.length === 1);
    infobip.bulkCalls[0].should.containEql({ method: 'PUT', path: '/sms/1/bulks/status', bulkId });
    infobip.bulkCalls[0].body.should.eql({ status: 'CANCELED' });
    infobip.bulks.get(bulkId).status.should.equal('CANCELED');
  });
});

describe("example 3's curl line, as npm start prints it, against Node-RED as npm start runs it", function () {
  this.timeout(60000);
  let red;
  let infobip;
  let userDir;

  before(async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-curl-'));
    infobip = await new InfobipTestServer({ apiKey: API_KEY }).start();
    // The demo serves HTTP endpoints at the root, as a default Node-RED does.
    red = await startNodeRed({ userDir, nodesDir: [root], httpNodeRoot: '/' });
  });
  after(async function () {
    await red?.stop();
    await infobip?.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('answers with the statuses', async function () {
    const flow = JSON.parse(fs.readFileSync(path.join(root, 'examples', '03 HTTP endpoint.json'), 'utf8'));
    const comment = flow.find((node) => node.type === 'comment').info;
    const command = /```\n(curl [\s\S]*?)\n```/.exec(comment)[1];
    command.should.startWith('curl -X POST http://NODE-RED/binary-sms');
    await red.deploy(
      flow.map((node) =>
        node.type === 'infobip-account'
          ? { ...node, baseUrl: infobip.baseUrl, credentials: { apiKey: API_KEY } }
          : node,
      ),
    );
    await red.whenRouted('/binary-sms', { method: 'POST' });
    // Only the placeholders differ from what the comment says, filled in as npm start prints them.
    const asWritten = demoCurl(command, red.url);
    let output;
    try {
      // Asynchronously: the stand-in Infobip answers from this process.
      ({ stdout: output } = await promisify(execFile)('bash', ['-c', asWritten], { encoding: 'utf8' }));
    } catch (error) {
      throw new Error(`running the curl line failed (is curl installed? apt-get install -y curl): ${error.message}`);
    }
    const answer = JSON.parse(output);
    Array.isArray(answer).should.be.true(output);
    answer.map((entry) => entry.status.groupName).should.eql(['PENDING']);
  });
});
