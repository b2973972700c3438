import type { EditorNodeProperties } from 'node-red';
import { normaliseRoutePath, parseReportNumber } from '../lib/rules';
import { RED, fillSelect } from './editor';

interface ReportProperties extends EditorNodeProperties {
  account: string;
  mode: string;
  interval: string | number;
  path: string;
  overdue: string | number;
}

const withinBounds = (name: 'interval' | 'overdue') => (value: string) => parseReportNumber(name, value).ok;

// The URL to paste into Infobip's portal: this editor's origin, httpNodeRoot, the path.
function webhookUrl(path: string): string {
  const root = String((RED.settings as { httpNodeRoot?: string }).httpNodeRoot || '/').replace(/\/$/, '');
  const clean = normaliseRoutePath(path || '');
  return clean ? window.location.origin + root + clean + '?token=…' : '';
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
    const showUrl = () => $('#binary-sms-report-url').text(webhookUrl(String($('#node-input-path').val() ?? '')));
    mode.on('change', showMode);
    $('#node-input-path').on('change keyup input', showUrl);
    showMode();
    showUrl();
  },
});
