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

const STYLE = `
.infobip-sidebar { padding: 8px 10px; overflow-y: auto; height: 100%; box-sizing: border-box; color: var(--red-ui-primary-text-color); }
.infobip-sidebar-intro { color: var(--red-ui-secondary-text-color); margin: 0 0 8px; }
.infobip-card { border: 1px solid var(--red-ui-secondary-border-color); border-radius: 4px; padding: 8px; margin-bottom: 10px; background: var(--red-ui-secondary-background); }
.infobip-card h4 { margin: 0 0 4px; font-size: 1.05em; }
.infobip-card .infobip-api { color: var(--red-ui-secondary-text-color); font-weight: normal; margin-left: 6px; }
.infobip-state { font-weight: bold; margin-bottom: 6px; }
.infobip-state-sending { color: var(--red-ui-text-color-link, #0070c0); }
.infobip-state-idle { color: var(--red-ui-text-color-success, #3a9c3a); }
.infobip-state-paused, .infobip-state-failing, .infobip-state-sharedDown { color: var(--red-ui-text-color-warning, #d59b00); }
.infobip-state-notSetUp, .infobip-state-closed { color: var(--red-ui-text-color-error, #c00); }
.infobip-card table { width: 100%; border-collapse: collapse; }
.infobip-card td { padding: 1px 4px 1px 0; vertical-align: top; }
.infobip-card td.infobip-n { text-align: right; font-variant-numeric: tabular-nums; }
.infobip-card th { text-align: right; font-weight: normal; color: var(--red-ui-secondary-text-color); }
.infobip-chart { width: 100%; height: 48px; margin-top: 6px; }
.infobip-chart .infobip-sent { fill: none; stroke: var(--red-ui-text-color-link, #0070c0); stroke-width: 1.5; }
.infobip-chart .infobip-delivered { fill: none; stroke: var(--red-ui-text-color-success, #3a9c3a); stroke-width: 1.5; }
.infobip-chart .infobip-axis { stroke: var(--red-ui-secondary-border-color); }
.infobip-legend { color: var(--red-ui-secondary-text-color); font-size: 0.9em; }
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
let latest = new LatestAnswer();
/** A fetch is under way; `again`: something changed meanwhile, so fetch once more after it. */
let fetching = false;
let again = false;

const clock = (epochMs: number) => new Date(epochMs).toLocaleTimeString([], { hour12: false });

function stateText(picture: AccountPicture, now: number): { key: string; text: string } {
  const { state } = cardState(picture, now);
  switch (state) {
    case 'paused':
      return {
        key: state,
        text: t('state.paused', { until: clock(picture.pausedUntil!), status: picture.pauseStatus ?? 429 }),
      };
    case 'notSetUp':
      return { key: state, text: t('state.notSetUp', { field: picture.problem ?? '' }) };
    case 'failing':
      return { key: state, text: t('state.failing', { time: clock(picture.lastFailed!) }) };
    default:
      return { key: state, text: t(`state.${state}`) };
  }
}

const count = (counts: Counts, name: string) => counts[name] ?? 0;

function row(table: JQuery, label: string, ...cells: (string | number)[]): void {
  const tr = $('<tr>').appendTo(table);
  $('<td>').text(label).appendTo(tr);
  for (const cell of cells) $('<td class="infobip-n">').text(String(cell)).appendTo(tr);
}

/** Messages sent and delivered per 10 s over the last 10 minutes, as two lines. */
function chart(picture: AccountPicture, now: number): JQuery {
  const width = 300;
  const height = 48;
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
  return $('<div>')
    .append($(svg).attr('aria-label', t('chart.label')))
    .append($('<div class="infobip-legend">').text(t('chart.legend', { top })));
}

/** Which copies share the account through Redis, and which of them polls. */
function sharing(shared: NonNullable<AccountPicture['shared']>): JQuery {
  const table = $('<table class="infobip-shared">');
  const named = (copy: string) => (copy === shared.self ? t('shared.self', { copy }) : copy);
  if (!shared.available) {
    row(table, t('shared.label'), t('shared.unavailable'));
    return table;
  }
  row(table, t('shared.label'), t('shared.copies', { count: shared.copies.length }));
  for (const copy of shared.copies) row(table, '', named(copy));
  for (const endpoint of ['reports', 'inbound'] as const) {
    const poller = shared.polling[endpoint];
    if (poller) row(table, t(`shared.polling.${endpoint}`), named(poller));
  }
  return table;
}

function card(picture: AccountPicture, now: number): JQuery {
  const element = $('<div class="infobip-card">').attr('data-account', picture.id);
  $('<h4>')
    .text(picture.name)
    .append($('<span class="infobip-api">').text(t('api', { api: picture.api })))
    .appendTo(element);
  const state = stateText(picture, now);
  $('<div class="infobip-state">').addClass(`infobip-state-${state.key}`).text(state.text).appendTo(element);

  const nowTable = $('<table class="infobip-now">').appendTo(element);
  row(nowTable, t('waiting'), picture.waiting);
  row(nowTable, t('inFlight'), `${picture.inFlight} / ${picture.parallel}`);
  // Nothing is published while the account is idle: an old picture's last second is not now's.
  const perSecond = now - picture.at < 2000 ? picture.requestsPerSecond : 0;
  const rate = picture.rateLimit > 0 ? `${perSecond} / ${picture.rateLimit}` : `${perSecond}`;
  row(nowTable, t('perSecond'), picture.pace !== undefined ? `${rate} (${t('pace', { pace: picture.pace })})` : rate);

  const recent = lastCounts(picture.buckets, now, FIVE_MINUTES);
  const counts = $('<table class="infobip-counts">').appendTo(element);
  const head = $('<tr>').appendTo(counts);
  $('<th>').appendTo(head);
  $('<th>').text(t('last5')).appendTo(head);
  $('<th>').text(t('sinceDeploy')).appendTo(head);
  const both = (name: string) => [count(recent, name), count(picture.total, name)];
  row(counts, t('sent'), ...both('sent'));
  row(counts, t('sentLong'), ...both('sentLong'));
  row(counts, t('rejected'), ...both('rejected'));
  row(counts, t('failed'), ...both('failed'));
  for (const code of Object.keys(picture.failedBy).sort()) {
    row(counts, t('failedBy', { code }), count(recent, `failed.${code}`), count(picture.failedBy, code));
  }
  row(counts, t('throttled429'), ...both('throttled429'));
  row(counts, t('throttled503'), ...both('throttled503'));
  row(counts, t('timeouts'), ...both('timeouts'));
  row(counts, t('delivered'), ...both('delivered'));
  row(counts, t('undelivered'), ...both('undelivered'));
  row(counts, t('overdue'), ...both('overdue'));
  row(counts, t('replies'), ...both('replies'));
  const tracked = $('<table class="infobip-tracked">').appendTo(element);
  row(tracked, t('tracked'), `${picture.tracked} / ${picture.trackLimit}`);
  row(tracked, t('trackedNumbers'), `${picture.trackedNumbers} / ${picture.trackLimit}`);
  if (picture.shared) sharing(picture.shared).appendTo(element);
  return element.append(chart(picture, now));
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
