import type { EditorNodeProperties } from 'node-red';
import { normaliseBaseUrl } from '../lib/rules';
import { RED, fillSelect, prepareReceiverDialog, webhookPathValid, withinReceiverBounds } from './editor';

interface ReportProperties extends EditorNodeProperties {
  account: string;
  mode: string;
  interval: string | number;
  path: string;
  overdue: string | number;
  parts: string;
  publicUrl: string;
  /** Whether the dialog has offered this node a random token (new nodes only; older ones keep theirs). */
  tokenOffered: boolean | string;
}

RED.nodes.registerType<ReportProperties, { token: string }>('binary-sms-report', {
  category: 'network',
  color: '#FDB985',
  defaults: {
    name: { value: '' },
    account: { value: '', type: 'infobip-account', required: true },
    mode: { value: 'poll' },
    interval: { value: 15, validate: withinReceiverBounds('interval') },
    path: { value: '/infobip/reports', validate: webhookPathValid },
    overdue: { value: 0, validate: withinReceiverBounds('overdue') },
    parts: { value: 'whole' },
    tokenOffered: { value: false },
    publicUrl: {
      value: '',
      validate: (value: string) => !value || normaliseBaseUrl(value) !== undefined,
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
    prepareReceiverDialog(this, 'binary-sms-report', '#node-input-publicUrl');
    const parts = $('#node-input-parts');
    fillSelect(this, parts, [
      { value: 'whole', label: 'binary-sms-report.parts.whole' },
      { value: 'each', label: 'binary-sms-report.parts.each' },
    ]);
    // A node saved before the setting existed keeps a report per part.
    parts.val(this.parts || 'each');
  },
});
