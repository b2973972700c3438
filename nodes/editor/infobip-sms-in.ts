import type { EditorNodeProperties } from 'node-red';
import { RED, prepareReceiverDialog, webhookPathValid, withinReceiverBounds } from './editor';

interface InboundProperties extends EditorNodeProperties {
  account: string;
  mode: string;
  interval: string | number;
  path: string;
  replyWindow: string | number;
  /** Whether the dialog has offered this node a random token. */
  tokenOffered: boolean | string;
}

RED.nodes.registerType<InboundProperties, { token: string }>('infobip-sms-in', {
  category: 'network',
  color: '#FDB985',
  defaults: {
    name: { value: '' },
    account: { value: '', type: 'infobip-account', required: true },
    mode: { value: 'poll' },
    interval: { value: 15, validate: withinReceiverBounds('interval') },
    path: { value: '/infobip/inbound', validate: webhookPathValid },
    replyWindow: { value: 60, validate: withinReceiverBounds('replyWindow') },
    tokenOffered: { value: false },
  },
  credentials: {
    token: { type: 'password' },
  },
  inputs: 0,
  outputs: 1,
  outputLabels: function () {
    return this._('infobip-sms-in.outputs.inbound');
  },
  icon: 'binary-sms.svg',
  paletteLabel: function () {
    return this._('infobip-sms-in.paletteLabel');
  },
  label: function () {
    return this.name || this._('infobip-sms-in.paletteLabel');
  },
  labelStyle: function () {
    return this.name ? 'node_label_italic' : '';
  },
  oneditprepare: function () {
    prepareReceiverDialog(this, 'infobip-sms-in');
  },
});
