// The Infobip sidebar tab: one card per account of the deployed flows, read from the admin API
// (permission infobip-binary-sms.read) at first and whenever the runtime's comms message says
// something changed (at most one a second, none while nothing changes; it carries no counts).
import { BUCKETS, BUCKET_MS, lastCounts, type AccountPicture, type Counts } from '../lib/stats/stats';
import { LatestAnswer, cardState } from '../lib/stats/view';
import { RED } from './editor';

const TAB = 'infobip-binary-sms';
const TOPIC = 'infobip-binary-sms/accounts';
const FIVE_MINUTES = 5 * 60 * 1000;
/** The package's own catalog: outside a node's definition, RED._ needs its namespace (module/node set). */
const t = (key: string, params?: Record<string, string | number>) =>
  RED._(`node-red-contrib-infobip-binary-sms/infobip-account:infobip-account.sidebar.${key}`, params);

// Compact at the sidebar's default width: the state, the rate and the chart first, one line each
// (a text too long for its line ends in "…" and shows whole as a tooltip), and the counts and
// details folded. Unfolded, a count's label and the column heads wrap rather than lose words in a narrow sidebar
// (Node-RED 5's is narrower than 4's).
const STYLE = `
.infobip-sidebar { padding: 8px 10px; overflow-y: auto; height: 100%; box-sizing: border-box; font-size: 13px; color: var(--red-ui-primary-text-color); }
.infobip-sidebar-intro { color: var(--red-ui-secondary-text-color); margin: 0 0 8px; }
.infobip-card { border: 1px solid var(--red-ui-secondary-border-color); border-radius: 4px; padding: 6px 8px; margin-bottom: 8px; background: var(--red-ui-secondary-background); }
.infobip-line, .infobip-card td, .infobip-card th { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.infobip-card .infobip-head { display: flex; align-items: baseline; gap: 6px; font-weight: bold; }
.infobip-card .infobip-name { flex: 1 1 auto; min-width: 0; }
.infobip-card .infobip-api { flex: none; color: var(--red-ui-secondary-text-color); font-weight: normal; font-size: 0.9em; }
.infobip-state { font-weight: bold; }
.infobip-state::before { content: '\\25CF'; margin-right: 5px; }
.infobip-state-sending { color: var(--red-ui-text-color-link, #0070c0); }
.infobip-state-idle { color: var(--red-ui-text-color-success, #3a9c3a); }
.infobip-state-paused, .infobip-state-failing, .infobip-state-sharedDown { color: var(--red-ui-text-color-warning, #d59b00); }
.infobip-state-notSetUp, .infobip-state-closed { color: var(--red-ui-text-color-error, #c00); }
.infobip-chart { display: block; width: 100%; height: 36px; margin-top: 4px; }
.infobip-chart .infobip-sent { fill: none; stroke: var(--red-ui-text-color-link, #0070c0); stroke-width: 1.5; }
.infobip-chart .infobip-delivered { fill: none; stroke: var(--red-ui-text-color-success, #3a9c3a); stroke-width: 1.5; }
.infobip-chart .infobip-axis { stroke: var(--red-ui-secondary-border-color); }
.infobip-legend { color: var(--red-ui-secondary-text-color); font-size: 0.9em; }
.infobip-legend .infobip-key-sent { color: var(--red-ui-text-color-link, #0070c0); }
.infobip-legend .infobip-key-delivered { color: var(--red-ui-text-color-success, #3a9c3a); }
.infobip-details { margin-top: 4px; font-size: 12px; }
.infobip-details > summary { cursor: pointer; color: var(--red-ui-secondary-text-color); }
.infobip-card table { width: 100%; border-collapse: collapse; table-layout: fixed; margin-top: 4px; }
.infobip-card td { padding: 0 4px 0 0; }
.infobip-card td.infobip-n, .infobip-card th { text-align: right; font-variant-numeric: tabular-nums; }
.infobip-card th { font-weight: normal; color: var(--red-ui-secondary-text-color); }
.infobip-card col.infobip-label { width: 58%; }
.infobip-card table.infobip-counts col.infobip-label { width: auto; }
.infobip-card table.infobip-counts col.infobip-number { width: 4.5em; }
.infobip-card table.infobip-counts td:first-child, .infobip-card table.infobip-counts th { white-space: normal; overflow-wrap: anywhere; }
.infobip-card td.infobip-sub { padding-left: 10px; color: var(--red-ui-secondary-text-color); }
`;

/** What the tab put into the page while it is there: built by addSidebar, taken down by removeSidebar. */
interface Mounted {
  content: JQuery;
  cards: JQuery;
  style: JQuery;
  timer: number;
  onChanged: () => void;
}
let mounted: Mounted | undefined;
let pictures: AccountPicture[] = [];
/** The accounts whose details a person unfolded. */
const openDetails = new Set<string>();
let latest = new LatestAnswer();
/** A fetch is under way; `again`: something changed meanwhile, so fetch once more after it. */
let fetching = false;
let again = false;

const clock = (epochMs: number) => new Date(epochMs).toLocaleTimeString([], { hour12: false });

/** The card's state: a short text for its line, and a sentence for its tooltip. */
function stateText(picture: AccountPicture, now: number): { key: string; text: string; tip: string } {
  const { state } = cardState(picture, now);
  const params: Record<string, string | number> =
    {
      paused: { until: clock(picture.pausedUntil ?? now), status: picture.pauseStatus ?? 429 },
      notSetUp: { field: picture.problem ?? '' },
      failing: { time: clock(picture.lastFailed ?? now) },
    }[state as string] ?? {};
  return { key: state, text: t(`state.${state}`, params), tip: t(`stateTip.${state}`, params) };
}

const count = (counts: Counts, name: string) => counts[name] ?? 0;

/** One line of the card's summary; the whole text is its tooltip, in case it ends in "…". */
const line = (className: string, text: string, tip = text) =>
  $('<div class="infobip-line">').addClass(className).text(text).attr('title', tip);

/** A table whose first column names each row; `numbers` columns of counts follow, or one value. */
function table(className: string, numbers = 0): JQuery {
  const element = $('<table>').addClass(className);
  const columns = $('<colgroup>').appendTo(element);
  $('<col class="infobip-label">').appendTo(columns);
  for (let index = 0; index < Math.max(1, numbers); index++) $('<col class="infobip-number">').appendTo(columns);
  return element;
}

function row(target: JQuery, label: string, ...cells: (string | number)[]): JQuery {
  const tr = $('<tr>').appendTo(target);
  $('<td>').text(label).attr('title', label).appendTo(tr);
  for (const cell of cells) $('<td class="infobip-n">').text(String(cell)).attr('title', String(cell)).appendTo(tr);
  return tr;
}

/** Messages sent and delivered per 10 s over the last 10 minutes, as two lines. */
function chart(picture: AccountPicture, now: number): JQuery {
  const width = 300;
  const height = 36;
  const end = Math.floor(now / BUCKET_MS) * BUCKET_MS;
  const series = (name: string) =>
    Array.from({ length: BUCKETS }, (_, index) => {
      const start = end - (BUCKETS - 1 - index) * BUCKET_MS;
      return count(picture.buckets.find((bucket) => bucket.start === start)?.counts ?? {}, name);
    });
  const sent = series('sent');
  const delivered = series('delivered');
  const top = Math.max(1, ...sent, ...delivered);
  const points = (values: number[]) =>
    values
      .map(
        (value, index) =>
          `${((index / (BUCKETS - 1)) * width).toFixed(1)},${(height - 2 - (value / top) * (height - 4)).toFixed(1)}`,
      )
      .join(' ');
  const svg = `<svg class="infobip-chart" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img">
    <line class="infobip-axis" x1="0" y1="${height - 1}" x2="${width}" y2="${height - 1}"/>
    <polyline class="infobip-sent" points="${points(sent)}"/>
    <polyline class="infobip-delivered" points="${points(delivered)}"/></svg>`;
  const legend = $('<div class="infobip-line infobip-legend">').attr('title', t('chart.label'));
  $('<span class="infobip-key-sent">')
    .text(`\u2501 ${t('chart.sent')}`)
    .appendTo(legend);
  legend.append(' ');
  $('<span class="infobip-key-delivered">')
    .text(`\u2501 ${t('chart.delivered')}`)
    .appendTo(legend);
  legend.append(' ', document.createTextNode(t('chart.scale', { top })));
  return $('<div class="infobip-chart-box">')
    .append($(svg).attr('aria-label', t('chart.label')))
    .append(legend);
}

/** Which copies share the account through Redis, and which of them polls. */
function sharing(shared: NonNullable<AccountPicture['shared']>): JQuery {
  const element = table('infobip-shared');
  if (!shared.available) {
    row(element, t('shared.label'), t('shared.unavailable'));
    return element;
  }
  const named = (copy: string) => (copy === shared.self ? t('shared.self') : copy);
  row(element, t('shared.label'), t('shared.available'));
  row(element, t('shared.copies'), shared.copies.length);
  row(element, t('shared.self'), shared.self);
  shared.copies
    .filter((copy) => copy !== shared.self)
    .forEach((copy, index) => row(element, index === 0 ? t('shared.others') : '', copy));
  for (const endpoint of ['reports', 'inbound'] as const) {
    const poller = shared.polling[endpoint];
    if (poller) row(element, t(`shared.polling.${endpoint}`), named(poller));
  }
  return element;
}

/** Words for a failure's code; a code the catalog does not know is shown as it is. */
const FAILURE_CODES = ['input', 'account', 'http', 'badResponse', 'unknown', 'network', 'queueFull', 'closed', 'limit'];
const failureText = (code: string) =>
  FAILURE_CODES.includes(code) ? t(`failedBy.${code}`) : t('failedBy.other', { code });

/** The folded part: what waits and runs now, the counts, tracking and shared state. */
function details(picture: AccountPicture, now: number, perSecond: number): JQuery {
  const element = $('<details class="infobip-details">');
  $('<summary>').text(t('details')).appendTo(element);

  const nowTable = table('infobip-now').appendTo(element);
  row(nowTable, t('waiting'), picture.waiting);
  row(nowTable, t('inFlight'), t('of', { count: picture.inFlight, limit: picture.parallel }));
  row(
    nowTable,
    t('perSecond'),
    picture.rateLimit > 0
      ? t('of', { count: perSecond, limit: picture.rateLimit })
      : t('noLimit', { count: perSecond }),
  );
  if (picture.pace !== undefined) row(nowTable, t('pace'), t('paceValue', { pace: picture.pace }));

  const recent = lastCounts(picture.buckets, now, FIVE_MINUTES);
  const counts = table('infobip-counts', 2).appendTo(element);
  const head = $('<tr>').appendTo(counts);
  $('<th>').appendTo(head);
  $('<th>').text(t('last5')).appendTo(head);
  $('<th>').text(t('sinceDeploy')).appendTo(head);
  const both = (name: string) => [count(recent, name), count(picture.total, name)];
  const sub = (tr: JQuery) => tr.children().first().addClass('infobip-sub');
  row(counts, t('sent'), ...both('sent'));
  sub(row(counts, t('sentLong'), ...both('sentLong')));
  row(counts, t('rejected'), ...both('rejected'));
  row(counts, t('failed'), ...both('failed'));
  sub(row(counts, t('timeouts'), ...both('timeouts')));
  for (const code of Object.keys(picture.failedBy).sort()) {
    sub(row(counts, failureText(code), count(recent, `failed.${code}`), count(picture.failedBy, code)));
  }
  row(counts, t('throttled429'), ...both('throttled429'));
  row(counts, t('throttled503'), ...both('throttled503'));
  row(counts, t('delivered'), ...both('delivered'));
  row(counts, t('undelivered'), ...both('undelivered'));
  row(counts, t('overdue'), ...both('overdue'));
  row(counts, t('replies'), ...both('replies'));
  // Lost answers are looked up only on v3 (by the ids the nodes chose).
  if (picture.api === 'v3') {
    row(counts, t('resolvedLogs'), ...both('resolvedLogs'));
    row(counts, t('resolvedResend'), ...both('resolvedResend'));
    row(counts, t('unresolved'), ...both('unresolved'));
  }

  const tracked = table('infobip-tracked').appendTo(element);
  row(tracked, t('tracked'), t('of', { count: picture.tracked, limit: picture.trackLimit }));
  row(tracked, t('trackedNumbers'), t('of', { count: picture.trackedNumbers, limit: picture.trackLimit }));
  if (picture.daily) row(tracked, t('dailyLimit'), t('of', { count: picture.daily.used, limit: picture.daily.limit }));
  if (picture.shared) sharing(picture.shared).appendTo(element);

  // Kept open or folded across the card's redraws, as the person left it.
  element.prop('open', openDetails.has(picture.id));
  element.on('toggle', () => {
    if (element.prop('open')) openDetails.add(picture.id);
    else openDetails.delete(picture.id);
  });
  return element;
}

/** A card: its name and API, then one line each for the state and the rate (and what waits, if anything), the chart, and the details folded. */
function card(picture: AccountPicture, now: number): JQuery {
  const element = $('<div class="infobip-card">').attr('data-account', picture.id);
  const head = $('<div class="infobip-head">').appendTo(element);
  $('<span class="infobip-line infobip-name">').text(picture.name).attr('title', picture.name).appendTo(head);
  $('<span class="infobip-api">')
    .text(t('api', { api: picture.api }))
    .appendTo(head);
  const state = stateText(picture, now);
  line('infobip-state', state.text, state.tip).addClass(`infobip-state-${state.key}`).appendTo(element);
  // Nothing is published while the account is idle: an old picture's last second is not now's.
  const perSecond = now - picture.at < 2000 ? picture.requestsPerSecond : 0;
  const rate =
    picture.rateLimit > 0
      ? t('rate', { rate: perSecond, limit: picture.rateLimit })
      : t('rateNoLimit', { rate: perSecond });
  line('infobip-rate', rate).appendTo(element);
  if (picture.waiting + picture.inFlight > 0) {
    const queue = { waiting: picture.waiting, inFlight: picture.inFlight, parallel: picture.parallel };
    line('infobip-queue', t('queue', queue)).appendTo(element);
  }
  return element.append(chart(picture, now), details(picture, now, perSecond));
}

function render(): void {
  if (!mounted) return;
  const { cards } = mounted;
  const now = latest.now();
  cards.empty();
  if (pictures.length === 0) $('<p class="infobip-sidebar-empty">').text(t('none')).appendTo(cards);
  for (const picture of [...pictures].sort((a, b) => a.name.localeCompare(b.name))) cards.append(card(picture, now));
}

/** Shows an answer of the endpoint, unless a later one is already shown. */
const accept = (received: unknown) => {
  const accounts = latest.accept(received);
  if (!accounts) return;
  pictures = accounts;
  render();
};

/** Reads the pictures (one fetch at a time); a user without the permission is told so instead. */
function refresh(): void {
  if (fetching) {
    again = true;
    return;
  }
  fetching = true;
  $.getJSON('infobip-binary-sms/accounts')
    .done(accept)
    .always(() => {
      fetching = false;
      if (again && mounted) {
        again = false;
        refresh();
      }
    })
    .fail((request: JQuery.jqXHR) => {
      // No endpoint: the runtime has the sidebar turned off.
      if (request.status === 404) removeSidebar();
      if (!mounted || (request.status !== 401 && request.status !== 403)) return;
      pictures = [];
      mounted.cards.empty().append($('<p class="infobip-sidebar-empty">').text(t('forbidden')));
    });
}

/**
 * Builds the tab, its style, its comms subscription and its 5-second timer: the account type's
 * onpaletteadd, which Node-RED calls when the type is added (and again when its node set is
 * enabled); a second call while the tab is there does nothing, and so does a call while
 * settings.js turns the sidebar off.
 */
export function addSidebar(): void {
  // settings.js `infobipSidebar: false`, as the account type exports it to the editor.
  if (mounted || (RED.settings as { infobipAccountSidebar?: unknown }).infobipAccountSidebar === false) return;
  latest = new LatestAnswer();
  const content = $('<div class="infobip-sidebar">');
  const cards = $('<div class="infobip-sidebar-cards">');
  const style = $('<style class="infobip-sidebar-style">').text(STYLE).appendTo('head');
  content.append($('<p class="infobip-sidebar-intro">').text(t('intro'))).append(cards);
  const onChanged = () => refresh();
  // The last 5 minutes and the chart move on with the clock, also while nothing changes.
  const timer = window.setInterval(() => {
    if (content.is(':visible')) render();
  }, 5000);
  mounted = { content, cards, style, timer, onChanged };
  RED.sidebar.addTab({
    id: TAB,
    label: t('label'),
    name: t('name'),
    iconClass: 'fa fa-commenting-o',
    content: content[0],
    enableOnEdit: true,
  });
  RED.comms.subscribe(TOPIC, onChanged);
  refresh();
}

/** Takes down all addSidebar built: the account type's onpaletteremove (its node set disabled or removed). */
export function removeSidebar(): void {
  if (!mounted) return;
  const { content, style, timer, onChanged } = mounted;
  mounted = undefined;
  pictures = [];
  RED.comms.unsubscribe(TOPIC, onChanged);
  window.clearInterval(timer);
  RED.sidebar.removeTab(TAB);
  content.remove();
  style.remove();
}
