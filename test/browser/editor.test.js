'use strict';
// The editor as a person uses it, in Debian's Chromium driven by playwright-core, against a
// real Node-RED with the packed tarball installed. Screenshots go to artifacts/ (git-ignored).
require('should');
const fs = require('node:fs');
const path = require('node:path');
const { startNodeRed } = require('../../dev/red-process');
const { InfobipTestServer } = require('../../dev/infobip-server');
const { withDemoDestinations } = require('../../dev/demo');
const { userDirWithPackage, root } = require('../support/packed');
const { MESSAGE_PROPERTIES } = require('../support/contract');
const WebSocket = require('ws');
const { RedisServer } = require('../../dev/redis-server');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(root, 'artifacts');
/** The README's pictures: rewritten only when asked (npm run docs:pictures), never by a plain test run. */
const DOCS = path.join(root, 'docs');
const API_KEY = 'browser-test-key-7f3a9c';

describe('the editor in a real browser', function () {
  this.timeout(180000);
  let red;
  let infobip;
  let browser;
  let page;
  let userDir;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      const message = `Chromium is missing at ${CHROMIUM}: install it with "apt-get install -y chromium" (as root), or set CHROMIUM_PATH`;
      // .ci/run demands the browser tests; elsewhere they are skipped, saying why.
      if (process.env.REQUIRE_BROWSER_TESTS) throw new Error(message);
      console.warn(`    Browser tests skipped. ${message}`);
      this.skip();
    }
    const { chromium } = require('playwright-core');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    userDir = userDirWithPackage();
    infobip = await new InfobipTestServer({ apiKey: API_KEY }).start();
    red = await startNodeRed({ userDir });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(red.url + '/');
    await page
      .locator('.red-ui-palette-node[data-palette-type="binary-sms"]')
      .waitFor({ state: 'attached', timeout: 60000 });
  });

  after(async function () {
    await browser?.close();
    await red?.stop();
    await infobip?.stop();
    if (userDir) fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** A screenshot to artifacts/, and to docs/ for the README when UPDATE_DOCS_PICTURES is set. */
  async function picture(name, forReadme = false) {
    await page.screenshot({ path: path.join(ARTIFACTS, name) });
    if (forReadme && process.env.UPDATE_DOCS_PICTURES) {
      fs.mkdirSync(DOCS, { recursive: true });
      fs.copyFileSync(path.join(ARTIFACTS, name), path.join(DOCS, name));
    }
  }

  const marked = (selector) => page.locator(selector).evaluate((element) => element.classList.contains('input-error'));
  /** Opens the node's edit tray by double-clicking it, as a person would; a double-click that lands
   *  while the editor is still busy (e.g. just after a deploy) is repeated, up to three times. */
  async function openNodeDialog(
    placed = page.locator('#red-ui-workspace-chart .red-ui-flow-node-group').first(),
    readyField = '#node-input-from',
  ) {
    for (let attempt = 1; ; attempt++) {
      await placed.dblclick();
      try {
        await page.locator(readyField).waitFor({ timeout: 5000 });
        return;
      } catch (error) {
        if (attempt === 3) throw error;
      }
    }
  }

  /** Reloads the editor after a deploy through the admin API, and shows the tab with that label. */
  async function showTab(label) {
    await page.reload();
    await page.locator('.red-ui-palette-node[data-palette-type="binary-sms"]').waitFor({ state: 'attached' });
    await page.locator('.red-ui-tab', { hasText: label }).first().click();
  }

  /** The node on the shown tab whose label has `text`, once it is drawn. */
  async function placedNode(text) {
    const placed = page.locator('#red-ui-workspace-chart .red-ui-flow-node-group', { hasText: text }).first();
    await placed.waitFor();
    return placed;
  }

  /** Shows the deployed tab `label` with the Infobip sidebar tab open, and the card of the account named `name`. */
  async function infobipCard(label, name) {
    await showTab(label);
    // The sidebar shows a few tabs' icons and lists the others in its menu; this is what that menu does.
    await page.evaluate(() => globalThis.RED.sidebar.show('infobip-binary-sms'));
    return page.locator('.infobip-card', { hasText: name });
  }

  /** The texts of a card's lines and cells that are shown but do not fit (each line is kept on one line). */
  const cutShort = (card) =>
    card.evaluate((element) =>
      [...element.querySelectorAll('.infobip-line, td, th')]
        .filter((cell) => cell.checkVisibility() && cell.scrollWidth > cell.clientWidth + 1)
        .map((cell) => cell.textContent),
    );

  const entry = () => page.locator('.red-ui-palette-node[data-palette-type="binary-sms"]');

  async function search(text) {
    const input = page.locator('#red-ui-palette-search input');
    await input.click();
    await input.fill('');
    await input.pressSequentially(text, { delay: 30 });
    await page.waitForTimeout(300);
  }

  it('finds the node in the palette by "infobip" and by "sms"', async function () {
    await search('infobip');
    (await entry().isVisible()).should.be.true();
    (await page.locator('.red-ui-palette-node[data-palette-type="inject"]').isVisible()).should.be.false();
    await search('sms');
    (await entry().isVisible()).should.be.true();
    (await entry().getAttribute('data-palette-label')).should.equal('Infobip SMS');
  });

  it('configures a node and a new account in the dialogs, marking a bad sender, and deploys', async function () {
    await entry().dragTo(page.locator('#red-ui-workspace-chart'), { targetPosition: { x: 300, y: 200 } });
    const placed = page.locator('#red-ui-workspace-chart .red-ui-flow-node-group');
    await placed.first().waitFor();
    await openNodeDialog();

    // Node-RED 4+ has an add button beside the select; 3.x has one lookup button that adds when nothing is chosen.
    await page.locator('#node-input-btn-account-add').or(page.locator('#node-input-lookup-account')).click();
    await page.locator('#node-config-input-baseUrl').waitFor();
    (await page.locator('#node-config-input-baseUrl').inputValue()).should.equal('https://api.infobip.com');
    // A new account sends through v3, the API Infobip documents today.
    (await page.locator('#node-config-input-api').inputValue()).should.equal('v3');
    (await page.locator('#node-config-input-apiKey').isVisible()).should.be.true();
    const delivery = {};
    for (const field of ['concurrency', 'rateLimit', 'batchSize', 'queueLimit', 'timeout', 'retries', 'throttleWait']) {
      delivery[field] = await page.locator(`#node-config-input-${field}`).inputValue();
    }
    delivery.should.eql({
      concurrency: '8',
      rateLimit: '0',
      batchSize: '100',
      queueLimit: '',
      timeout: '30',
      retries: '3',
      throttleWait: '600',
    });
    // The same bounds as at deploy: a timeout beyond what setTimeout holds is marked.
    await page.locator('#node-config-input-timeout').fill('99999999999');
    await page.locator('#node-config-input-name').click();
    (await marked('#node-config-input-timeout')).should.be.true('#node-config-input-timeout marked invalid');
    await page.locator('#node-config-input-timeout').fill('30');
    (await page.locator('#node-config-input-password').isVisible()).should.be.false();
    await page.locator('#node-config-input-authType').selectOption('basic');
    (await page.locator('#node-config-input-password').isVisible()).should.be.true();
    (await page.locator('#node-config-input-apiKey').isVisible()).should.be.false();
    await page.locator('#node-config-input-authType').selectOption('apiKey');
    await page.locator('#node-config-input-name').fill('Test account');
    await page.locator('#node-config-input-baseUrl').fill('not a url');
    await page.locator('#node-config-input-name').click();
    (await marked('#node-config-input-baseUrl')).should.be.true('#node-config-input-baseUrl marked invalid');
    await page.locator('#node-config-input-baseUrl').fill(infobip.baseUrl);
    await page.locator('#node-config-input-apiKey').fill(API_KEY);
    await page.locator('#node-config-input-name').click();
    (await marked('#node-config-input-baseUrl')).should.be.false('#node-config-input-baseUrl marked invalid');
    await picture('account-dialog.png');
    await page.locator('#node-config-dialog-ok').click();
    await page.locator('#node-config-input-baseUrl').waitFor({ state: 'detached' });

    await page.locator('#node-input-from').fill('X!');
    await page.locator('#node-input-to').click();
    (await marked('#node-input-from')).should.be.true('#node-input-from marked invalid');
    await page.locator('#node-input-from').fill('InfoSMS');
    await page.locator('#node-input-to').fill('+41 79 302 67 27, 41793026834');
    await page.locator('#node-input-name').click();
    (await marked('#node-input-from')).should.be.false('#node-input-from marked invalid');
    (await marked('#node-input-to')).should.be.false('#node-input-to marked invalid');
    await page.locator('#node-input-dataCoding-preset').selectOption('8');
    await page.locator('#node-input-esmClass-preset').selectOption('custom');
    await page.locator('#node-input-esmClass-custom').fill('300');
    await page.locator('#node-input-name').click();
    (await marked('#node-input-esmClass-custom')).should.be.true('#node-input-esmClass-custom marked invalid');
    await page.locator('#node-input-esmClass-custom').fill('64');
    await page.locator('#node-input-validity').fill('3000');
    await page.locator('#node-input-name').click();
    (await marked('#node-input-validity')).should.be.true('#node-input-validity marked invalid');
    await page.locator('#node-input-validity').fill('30');
    await page.locator('#node-input-name').click();
    (await marked('#node-input-validity')).should.be.false('#node-input-validity marked invalid');
    // A v3 account takes Valid for: no warning.
    (await page.locator('#node-input-validity-v1').isVisible()).should.be.false();
    await picture('edit-dialog.png', true);
    await page.locator('#node-dialog-ok').click();
    await page.locator('#node-input-from').waitFor({ state: 'detached' });

    (await placed.first().textContent()).should.containEql('SMS to +41793026727 +1');
    await page.locator('#red-ui-header-button-deploy').click();
    let flows;
    for (let i = 0; i < 50; i++) {
      flows = (await red.request('GET', '/flows')).json;
      if (flows.some((node) => node.type === 'binary-sms')) break;
      await page.waitForTimeout(200);
    }
    const sms = flows.find((node) => node.type === 'binary-sms');
    const account = flows.find((node) => node.type === 'infobip-account');
    sms.should.have.properties({ from: 'InfoSMS', to: '+41 79 302 67 27, 41793026834', account: account.id });
    String(sms.dataCoding).should.equal('8');
    String(sms.esmClass).should.equal('64');
    String(sms.validity).should.equal('30');
    account.should.have.properties({ name: 'Test account', baseUrl: infobip.baseUrl, authType: 'apiKey', api: 'v3' });
    JSON.stringify(flows).should.not.containEql(API_KEY);
    fs.readFileSync(path.join(userDir, 'flows_cred.json'), 'utf8').should.not.containEql(API_KEY);
    const stored = await red.request('GET', `/credentials/infobip-account/${account.id}`);
    stored.json.should.have.properties({ has_apiKey: true });
    JSON.stringify(stored.json).should.not.containEql(API_KEY);
  });

  it('never shows the stored API key back in the account dialog', async function () {
    await openNodeDialog();
    await page.locator('#node-input-btn-account-edit').or(page.locator('#node-input-lookup-account')).click();
    await page.locator('#node-config-input-apiKey').waitFor();
    const shown = await page.locator('#node-config-input-apiKey').inputValue();
    shown.should.not.equal(API_KEY);
    shown.should.not.containEql(API_KEY.slice(0, 8));
    (await page.content()).should.not.containEql(API_KEY);
    await page.locator('#node-config-dialog-cancel').click();
    await page.locator('#node-config-input-apiKey').waitFor({ state: 'detached' });
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-input-from').waitFor({ state: 'detached' });
  });

  it('shows the help with every documented msg property', async function () {
    await page.locator('#red-ui-workspace-chart .red-ui-flow-node-group').first().click();
    // Node-RED 3 and 4 link the sidebar tabs with buttons; 5 has a sidebar tab bar.
    await page
      .locator('#red-ui-tab-help-link-button')
      .or(page.locator('.red-ui-sidebar-tab-bar button:has(.fa-book)'))
      .first()
      .click();
    await page.locator('.red-ui-help dl.message-properties').first().waitFor();
    const help = page
      .locator('.red-ui-help')
      .filter({ has: page.locator('dl.message-properties') })
      .last();
    const text = await help.innerText();
    for (const property of MESSAGE_PROPERTIES) {
      text.should.containEql(property);
    }
    text.should.containEql('Inputs');
    text.should.containEql('Outputs');
    text.should.containEql('References');
    await picture('help.png');
  });

  it('the report node dialog switches between polling and webhook and shows the URL for the portal', async function () {
    await search('report');
    const reportEntry = page.locator('.red-ui-palette-node[data-palette-type="binary-sms-report"]');
    (await reportEntry.getAttribute('data-palette-label')).should.equal('Infobip report');
    await reportEntry.dragTo(page.locator('#red-ui-workspace-chart'), { targetPosition: { x: 300, y: 420 } });
    const placed = page.locator('#red-ui-workspace-chart .red-ui-flow-node-group', { hasText: 'Infobip report' });
    await placed.first().waitFor();
    await openNodeDialog(placed.first(), '#node-input-mode');
    (await page.locator('#node-input-mode').inputValue()).should.equal('poll');
    (await page.locator('#node-input-interval').isVisible()).should.be.true();
    (await page.locator('#node-input-path').isVisible()).should.be.false();
    await page.locator('#node-input-mode').selectOption('webhook');
    (await page.locator('#node-input-interval').isVisible()).should.be.false();
    (await page.locator('#node-input-path').isVisible()).should.be.true();
    // A new node gets a random token, shown in the URL while the dialog made it.
    const token = await page.locator('#node-input-token').inputValue();
    token.should.match(/^[0-9a-f]{32}$/);
    // The demo Node-RED serves httpNodeRoot at /api: the URL must include it.
    (await page.locator('#binary-sms-report-url').innerText()).should.equal(
      `${red.url}/api/infobip/reports?token=${token}`,
    );
    await page.locator('#node-input-path').fill('/devices/reports');
    (await page.locator('#binary-sms-report-url').innerText()).should.equal(
      `${red.url}/api/devices/reports?token=${token}`,
    );
    // With a Public URL, the URL Infobip pushes to starts there.
    await page.locator('#node-input-publicUrl').fill('https://nodered.example.com');
    (await page.locator('#binary-sms-report-url').innerText()).should.equal(
      `https://nodered.example.com/api/devices/reports?token=${token}`,
    );
    await page.locator('#node-input-publicUrl').fill('');
    await picture('report-dialog.png', true);
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-input-mode').waitFor({ state: 'detached' });
  });

  it('the inbound node dialog: polling by default, a reply window within bounds, a webhook URL with a random token', async function () {
    await search('inbound');
    const inboundEntry = page.locator('.red-ui-palette-node[data-palette-type="infobip-sms-in"]');
    (await inboundEntry.getAttribute('data-palette-label')).should.equal('Infobip inbound');
    await inboundEntry.dragTo(page.locator('#red-ui-workspace-chart'), { targetPosition: { x: 300, y: 520 } });
    const placed = page.locator('#red-ui-workspace-chart .red-ui-flow-node-group', { hasText: 'Infobip inbound' });
    await placed.first().waitFor();
    await openNodeDialog(placed.first(), '#node-input-replyWindow');
    (await page.locator('#node-input-mode').inputValue()).should.equal('poll');
    (await page.locator('#node-input-interval').inputValue()).should.equal('15');
    (await page.locator('#node-input-path').isVisible()).should.be.false();
    (await page.locator('#node-input-replyWindow').inputValue()).should.equal('60');
    // The same bound as the runtime's: 0 (off) to 48 hours.
    await page.locator('#node-input-replyWindow').fill('2881');
    await page.locator('#node-input-name').click();
    (await marked('#node-input-replyWindow')).should.be.true();
    await page.locator('#node-input-replyWindow').fill('0');
    await page.locator('#node-input-name').click();
    (await marked('#node-input-replyWindow')).should.be.false();
    await page.locator('#node-input-replyWindow').fill('60');
    await page.locator('#node-input-mode').selectOption('webhook');
    (await page.locator('#node-input-interval').isVisible()).should.be.false();
    const token = await page.locator('#node-input-token').inputValue();
    token.should.match(/^[0-9a-f]{32}$/);
    (await page.locator('#infobip-sms-in-url').innerText()).should.equal(
      `${red.url}/api/infobip/inbound?token=${token}`,
    );
    await page.locator('#node-input-name').click();
    await picture('inbound-dialog.png', true);
    await page.locator('#node-input-path').fill('/devices/{id}');
    await page.locator('#node-input-name').click();
    (await marked('#node-input-path')).should.be.true();
    (await page.locator('#infobip-sms-in-url').innerText()).should.equal('');
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-input-mode').waitFor({ state: 'detached' });
  });

  it('the binary-sms dialog says that a v1 account cannot take Valid for', async function () {
    await red.deploy([
      { id: 'v1tab', type: 'tab', label: 'v1 account' },
      {
        id: 'v1acc',
        type: 'infobip-account',
        name: 'Old v1 account',
        api: 'v1',
        baseUrl: infobip.baseUrl,
        authType: 'apiKey',
      },
      {
        id: 'v1sms',
        type: 'binary-sms',
        z: 'v1tab',
        name: 'v1 sender',
        account: 'v1acc',
        to: '',
        validity: '10',
        x: 200,
        y: 100,
        wires: [],
      },
    ]);
    await showTab('v1 account');
    await openNodeDialog(await placedNode('v1 sender'), '#node-input-validity');
    (await page.locator('#node-input-validity-v1').isVisible()).should.be.true();
    (await page.locator('#node-input-validity-v1').innerText()).should.match(/v1 API, which has no validity period/);
    await page.locator('#node-input-validity').fill('');
    await page.locator('#node-input-name').click();
    (await page.locator('#node-input-validity-v1').isVisible()).should.be.false();
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-input-validity').waitFor({ state: 'detached' });
  });

  it('long payloads in the dialogs: saved nodes keep "As is" and a report per part, new ones split and report whole', async function () {
    await red.deploy([
      { id: 'ltab', type: 'tab', label: 'saved before' },
      {
        id: 'lacc',
        type: 'infobip-account',
        name: 'v3 account',
        api: 'v3',
        baseUrl: infobip.baseUrl,
        authType: 'apiKey',
      },
      {
        id: 'lsms',
        type: 'binary-sms',
        z: 'ltab',
        name: 'old sender',
        account: 'lacc',
        to: '',
        x: 200,
        y: 100,
        wires: [],
      },
      {
        id: 'lrep',
        type: 'binary-sms-report',
        z: 'ltab',
        name: 'old report',
        account: 'lacc',
        mode: 'poll',
        interval: 15,
        x: 200,
        y: 200,
        wires: [[], []],
      },
    ]);
    await showTab('saved before');
    await openNodeDialog(await placedNode('old sender'), '#node-input-longPayload');
    (await page.locator('#node-input-longPayload').inputValue()).should.equal('asIs');
    (await page.locator('#node-input-maxParts').isVisible()).should.be.false();
    await page.locator('#node-input-longPayload').selectOption('split');
    (await page.locator('#node-input-maxParts').isVisible()).should.be.true();
    (await page.locator('#node-input-concatRef').inputValue()).should.equal('8');
    await page.locator('#node-input-maxParts').fill('300');
    await page.locator('#node-input-name').click();
    (await marked('#node-input-maxParts')).should.be.true();
    await page.locator('#node-input-maxParts').fill('');
    await page.locator('#node-input-sourcePort').fill('9200');
    await page.locator('#node-input-name').click();
    (await marked('#node-input-sourcePort')).should.be.true();
    await page.locator('#node-input-destinationPort').fill('2948');
    await page.locator('#node-input-sourcePort').fill('9201');
    await page.locator('#node-input-name').click();
    (await marked('#node-input-sourcePort')).should.be.false();
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-input-longPayload').waitFor({ state: 'detached' });

    await openNodeDialog(await placedNode('old report'), '#node-input-parts');
    (await page.locator('#node-input-parts').inputValue()).should.equal('each');
    await page.locator('#node-dialog-cancel').click();
    await page.locator('#node-input-parts').waitFor({ state: 'detached' });

    const defaults = await page.evaluate(() => [
      globalThis.RED.nodes.getType('binary-sms').defaults.longPayload.value,
      globalThis.RED.nodes.getType('binary-sms-report').defaults.parts.value,
    ]);
    defaults.should.eql(['split', 'whole']);
  });

  it('the Infobip sidebar tab shows each account live: waiting and sent counts, the chart, a pause; nothing secret', async function () {
    const errors = [];
    const onError = (error) => errors.push(error.message);
    page.on('pageerror', onError);
    const comms = [];
    const socket = new WebSocket(red.url.replace(/^http/, 'ws') + '/comms');
    socket.on('open', () => socket.send(JSON.stringify({ subscribe: 'infobip-binary-sms/#' })));
    socket.on('message', (data) => comms.push(String(data)));
    try {
      infobip.reset();
      infobip.delayMs = 50;
      await red.deploy([
        { id: 'stab', type: 'tab', label: 'sidebar' },
        {
          id: 'sacc',
          type: 'infobip-account',
          name: 'Infobip stand-in (demo)',
          api: 'v3',
          baseUrl: infobip.baseUrl,
          authType: 'apiKey',
          concurrency: '1',
          batchSize: '1',
          throttleWait: '60',
          credentials: { apiKey: API_KEY },
        },
        {
          id: 'sgo',
          type: 'inject',
          z: 'stab',
          name: 'burst',
          props: [],
          x: 120,
          y: 80,
          wires: [['sburst']],
        },
        {
          id: 'sburst',
          type: 'function',
          z: 'stab',
          name: '',
          func: "for (let i = 0; i < 60; i++) node.send({ payload: [1, 2, i], to: '41793026727' }); return null;",
          outputs: 1,
          x: 300,
          y: 80,
          wires: [['ssms']],
        },
        { id: 'ssms', type: 'binary-sms', z: 'stab', account: 'sacc', to: '', x: 480, y: 80, wires: [[]] },
        {
          id: 'srep',
          type: 'binary-sms-report',
          z: 'stab',
          account: 'sacc',
          mode: 'poll',
          interval: 1,
          x: 120,
          y: 160,
          wires: [[], []],
        },
      ]);
      const card = await infobipCard('sidebar', 'Infobip stand-in (demo)');
      await card.waitFor({ timeout: 10000 });
      (await card.locator('.infobip-state').innerText()).should.match(/idle/);
      // Compact at the sidebar's default width: name, state, rate and chart at a glance, each line
      // whole (none wraps, none is cut short), and the counts folded until asked for.
      (await cutShort(card)).should.eql([]);
      const folded = await card.evaluate((element) => ({
        height: element.getBoundingClientRect().height,
        counts: element.querySelector('table.infobip-counts').checkVisibility(),
      }));
      folded.counts.should.be.false();
      // The card before this change was about 20 rows (some 600 px) high.
      folded.height.should.be.below(200);
      await picture('sidebar-folded.png');
      await card.locator('details.infobip-details > summary').click();
      await card.locator('table.infobip-counts').waitFor();
      (await cutShort(card)).should.eql([]);
      const cell = (label) =>
        card.locator('tr', { hasText: label }).first().locator('td.infobip-n').first().innerText();

      const inject = await placedNode('burst');
      await inject.locator('.red-ui-flow-node-button').click();
      await page.waitForFunction(() => {
        const row = [...globalThis.document.querySelectorAll('.infobip-card tr')].find((tr) =>
          tr.textContent.startsWith('messages waiting'),
        );
        return row && Number(row.querySelector('td.infobip-n').textContent) > 0;
      });
      (await card.locator('.infobip-state').innerText()).should.match(/sending/);
      await page.waitForFunction(
        () => {
          const row = [...globalThis.document.querySelectorAll('.infobip-card tr')].find((tr) =>
            /^sent\d/.test(tr.textContent),
          );
          return row && Number(row.querySelector('td.infobip-n').textContent) === 60;
        },
        undefined,
        { timeout: 20000 },
      );
      Number(await cell('messages waiting')).should.equal(0);
      const line = await card.locator('polyline.infobip-sent').getAttribute('points');
      new Set(line.split(' ').map((point) => point.split(',')[1])).size.should.be.above(1);
      await page.waitForFunction(() =>
        [...globalThis.document.querySelectorAll('.infobip-card tr')].some((tr) =>
          /^delivered[1-9]/.test(tr.textContent),
        ),
      );
      await picture('sidebar.png', true);

      infobip.plan({ status: 429, headers: { 'retry-after': '3600' }, body: { errorCode: 'E429' } });
      await inject.locator('.red-ui-flow-node-button').click();
      await card.locator('.infobip-state', { hasText: 'paused (HTTP 429) until' }).waitFor({ timeout: 10000 });
      (await cutShort(card)).should.eql([]);

      const html = await page.locator('.infobip-sidebar').innerHTML();
      for (const secret of [API_KEY, '41793026727']) {
        html.should.not.containEql(secret);
        comms.join('\n').should.not.containEql(secret);
      }
      comms.some((text) => text.includes('infobip-binary-sms/accounts')).should.be.true();
      errors.should.be.empty();
    } finally {
      page.off('pageerror', onError);
      socket.close();
      infobip.delayMs = 0;
    }
  });

  it('the Infobip sidebar tab shows an account sharing state through Redis, and when Redis is gone', async function () {
    const redis = await new RedisServer({ password: 'sidebar-redis-secret' }).start();
    try {
      await red.deploy([
        { id: 'rtab', type: 'tab', label: 'shared' },
        {
          id: 'racc',
          type: 'infobip-account',
          name: 'shared with copies',
          api: 'v3',
          baseUrl: infobip.baseUrl,
          authType: 'apiKey',
          credentials: { apiKey: API_KEY, redisUrl: redis.url },
        },
        { id: 'rsms', type: 'binary-sms', z: 'rtab', account: 'racc', to: '', x: 300, y: 80, wires: [[]] },
        {
          id: 'rrep',
          type: 'binary-sms-report',
          z: 'rtab',
          account: 'racc',
          mode: 'poll',
          interval: 1,
          x: 120,
          y: 160,
          wires: [[], []],
        },
      ]);
      const card = await infobipCard('shared', 'shared with copies');
      await card.locator('details.infobip-details > summary').click();
      const shared = card.locator('table.infobip-shared');
      await shared.locator('tr', { hasText: 'polls reports' }).waitFor({ timeout: 10000 });
      const text = await shared.innerText();
      text.should.match(/shared state \(Redis\)\s+available/);
      text.should.match(/copies sharing\s+1/);
      text.should.match(/this copy\s+\S+\/\S+/);
      text.should.match(/polls reports\s+this copy/);
      (await cutShort(card)).should.eql([]);
      await picture('sidebar-shared.png');
      await redis.stop();
      await card.locator('.infobip-state-sharedDown', { hasText: 'Redis unavailable: this copy alone' }).waitFor({
        timeout: 10000,
      });
      (await shared.innerText()).should.match(/shared state \(Redis\)\s+unavailable/);
      const html = await page.locator('.infobip-sidebar').innerHTML();
      html.should.not.containEql('sidebar-redis-secret');
      html.should.not.containEql(`:${redis.port}`);
    } finally {
      await redis.destroy();
    }
  });

  it('the Infobip sidebar tab comes with the account type in the palette, once, and goes with it', async function () {
    await red.deploy([
      { id: 'ptab', type: 'tab', label: 'palette' },
      { id: 'pacc', type: 'infobip-account', name: 'palette account', api: 'v3', baseUrl: infobip.baseUrl },
    ]);
    await showTab('palette');
    const seen = await page.evaluate(() => {
      const { RED, $ } = globalThis;
      const type = RED.nodes.getType('infobip-account');
      const calls = { subscribe: 0, unsubscribe: 0, setInterval: 0, clearInterval: 0 };
      const spy = (target, name) => {
        const original = target[name];
        target[name] = function (...args) {
          if (!name.endsWith('subscribe') || args[0] === 'infobip-binary-sms/accounts') calls[name]++;
          return original.apply(this, args);
        };
        return () => (target[name] = original);
      };
      const restore = [
        spy(RED.comms, 'subscribe'),
        spy(RED.comms, 'unsubscribe'),
        spy(globalThis, 'setInterval'),
        spy(globalThis, 'clearInterval'),
      ];
      const now = () => ({
        tab: RED.sidebar.containsTab('infobip-binary-sms'),
        styles: $('style.infobip-sidebar-style').length,
        panes: $('.infobip-sidebar').length,
        ...calls,
      });
      try {
        const loaded = now();
        type.onpaletteremove.call(type);
        const removed = now();
        type.onpaletteremove.call(type);
        const removedTwice = now();
        type.onpaletteadd.call(type);
        type.onpaletteadd.call(type);
        return { loaded, removed, removedTwice, addedTwice: now() };
      } finally {
        restore.forEach((undo) => undo());
      }
    });
    const none = { subscribe: 0, unsubscribe: 0, setInterval: 0, clearInterval: 0 };
    seen.loaded.should.eql({ tab: true, styles: 1, panes: 1, ...none });
    const gone = { tab: false, styles: 0, panes: 0, ...none, unsubscribe: 1, clearInterval: 1 };
    seen.removed.should.eql(gone);
    seen.removedTwice.should.eql(gone);
    seen.addedTwice.should.eql({
      tab: true,
      styles: 1,
      panes: 1,
      subscribe: 1,
      unsubscribe: 1,
      setInterval: 1,
      clearInterval: 1,
    });
    // Back in the palette, the tab reads the accounts again.
    await page.evaluate(() => globalThis.RED.sidebar.show('infobip-binary-sms'));
    await page.locator('.infobip-card', { hasText: 'palette account' }).waitFor({ timeout: 10000 });
  });

  it('settings.js infobipSidebar: false leaves the editor without the Infobip tab', async function () {
    (await page.evaluate(() => globalThis.RED.settings.infobipAccountSidebar)).should.be.true();
    const offDir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'binary-sms-sidebar-off-'));
    const off = await startNodeRed({ userDir: offDir, nodesDir: [root], settings: { infobipSidebar: false } });
    const other = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await other.goto(off.url + '/');
      await other
        .locator('.red-ui-palette-node[data-palette-type="binary-sms"]')
        .waitFor({ state: 'attached', timeout: 60000 });
      const seen = await other.evaluate(() => ({
        setting: globalThis.RED.settings.infobipAccountSidebar,
        tab: globalThis.RED.sidebar.containsTab('infobip-binary-sms'),
        panes: globalThis.$('.infobip-sidebar').length,
        styles: globalThis.$('style.infobip-sidebar-style').length,
      }));
      seen.should.eql({ setting: false, tab: false, panes: 0, styles: 0 });
      (await off.request('GET', '/infobip-binary-sms/accounts')).status.should.equal(404);
      off.output().should.not.containEql('invalid property name');
    } finally {
      await other.close();
      await off.stop();
      fs.rmSync(offDir, { recursive: true, force: true });
    }
  });

  it('example 4 in the editor: a click sends, and the Debug sidebar shows the statuses and the delivery reports', async function () {
    infobip.reportDelayMs = 300;
    const example = withDemoDestinations(
      JSON.parse(fs.readFileSync(path.join(root, 'examples', '04 send and follow delivery reports.json'), 'utf8')),
    ).map((node) =>
      node.type === 'infobip-account'
        ? { ...node, name: 'Local test server', baseUrl: infobip.baseUrl, credentials: { apiKey: API_KEY } }
        : node.type === 'binary-sms-report'
          ? { ...node, interval: '1' }
          : node,
    );
    await red.deploy(example);
    await page.reload();
    await page.locator('.red-ui-palette-node[data-palette-type="binary-sms"]').waitFor({ state: 'attached' });
    await page.locator('.red-ui-tab', { hasText: 'send and follow delivery reports' }).first().click();
    const inject = page.locator('#red-ui-workspace-chart .red-ui-flow-node-group', { hasText: 'device command' });
    await inject.locator('.red-ui-flow-node-button').click();
    await page
      .locator('#red-ui-tab-debug-link-button')
      .or(page.locator('.red-ui-sidebar-tab-bar button:has(.fa-bug)'))
      .first()
      .click();
    // Three statuses from Infobip, then three reports: two delivered, one not.
    const messages = page.locator('.red-ui-debug-msg');
    // Attached is enough: on Node-RED 5 the messages exist before the sidebar shows them.
    await messages.nth(5).waitFor({ state: 'attached', timeout: 20000 });
    const texts = await messages.allTextContents();
    texts.filter((text) => text.includes('PENDING_ACCEPTED')).should.have.length(3);
    texts.filter((text) => /node: delivered[\s\S]*delivered: true/.test(text)).should.have.length(2);
    texts.filter((text) => /node: not delivered[\s\S]*delivered: false/.test(text)).should.have.length(1);
    await picture('flow-and-debug.png', true);
  });
});
