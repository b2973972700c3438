import type { EditorNodeProperties } from 'node-red';
import { normaliseBaseUrl, normaliseRoutePath, parseReportNumber } from '../lib/rules';
import { RED, fillSelect } from './editor';

interface ReportProperties extends EditorNodeProperties {
  account: string;
  mode: string;
  interval: string | number;
  path: string;
  overdue: string | number;
  publicUrl: string;
  /** Whether the dialog has offered this node a random token (new nodes only; older ones keep theirs). */
  tokenOffered: boolean | string;
}

/** What Node-RED puts in a password field whose secret is stored on the server. */
const STORED_SECRET = '__PWRD__';

function randomToken(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

const withinBounds = (name: 'interval' | 'overdue') => (value: string) => parseReportNumber(name, value).ok;

// The URL Infobip pushes to: the Public URL (else this editor's origin), httpNodeRoot, the path and
// the token (shown while it was typed or made in this dialog; a stored one is never sent back).
function webhookUrl(path: string, token: string, publicUrl: string): string {
  const root = String((RED.settings as { httpNodeRoot?: string }).httpNodeRoot || '/').replace(/\/$/, '');
  const clean = normaliseRoutePath(path || '');
  const origin = normaliseBaseUrl(publicUrl) ?? window.location.origin;
  const shown = token === STORED_SECRET ? '…' : encodeURIComponent(token);
  return clean ? origin + root + clean + (token ? '?token=' + shown : '') : '';
}

RED.nodes.registerType<ReportProperties, { token: string }>('binary-sms-report', {
  category: 'network',
  color: '#FDB985',
  defaults: {
    name: { value: '' },
    account: { value: '', type: 'infobip-account', required: true },
    mode: { value: 'poll' },
    interval: { value: 15, validate: withinBounds('interval') },
    path: {
      value: '/infobip/reports',
      validate: function (value) {
        // While the dialog is open the mode field decides; otherwise the saved mode.
        const field = $('#node-input-mode');
        const mode = field.length ? field.val() : this.mode;
        return mode !== 'webhook' || normaliseRoutePath(value || '') !== undefined;
      },
    },
    overdue: { value: 0, validate: withinBounds('overdue') },
    tokenOffered: { value: false },
    publicUrl: {
      value: '',
      validate: (value) => !value || normaliseBaseUrl(value) !== undefined,
    },
  },
  credentials: {
    token: { type: 'password' },
  },
  inputs: 0,
  outputs: 2,
  outputLabels: function (index: number) {
    return this._(index === 0 ? 'binary-sms-report.outputs.report' : 'binary-sms-report.outputs.overdue');
  },
  icon: 'binary-sms.svg',
  paletteLabel: function () {
    return this._('binary-sms-report.paletteLabel');
  },
  label: function () {
    return this.name || this._('binary-sms-report.paletteLabel');
  },
  labelStyle: function () {
    return this.name ? 'node_label_italic' : '';
  },
  oneditprepare: function () {
    const mode = $('#node-input-mode');
    fillSelect(this, mode, [
      { value: 'poll', label: 'binary-sms-report.mode.poll' },
      { value: 'webhook', label: 'binary-sms-report.mode.webhook' },
    ]);
    mode.val(this.mode || 'poll');
    const showMode = () => {
      const webhook = mode.val() === 'webhook';
      $('.binary-sms-report-poll').toggle(!webhook);
      $('.binary-sms-report-webhook').toggle(webhook);
      $('#node-input-path').trigger('change');
    };
    const token = $('#node-input-token');
    // A new node gets a random token; an empty one stays allowed (the node warns at deploy).
    if (String(this.tokenOffered) !== 'true' && this.tokenOffered !== undefined && !token.val()) {
      token.val(randomToken());
    }
    $('#node-input-tokenOffered').val('true');
    const showUrl = () =>
      $('#binary-sms-report-url').text(
        webhookUrl(
          String($('#node-input-path').val() ?? ''),
          String(token.val() ?? ''),
          String($('#node-input-publicUrl').val() ?? ''),
        ),
      );
    mode.on('change', showMode);
    $('#node-input-path, #node-input-token, #node-input-publicUrl').on('change keyup input', showUrl);
    showMode();
    showUrl();
  },
});
