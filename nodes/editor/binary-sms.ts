import type { EditorNodeProperties } from 'node-red';
import {
  LONG_PAYLOADS,
  SMS_NUMBERS,
  isValidSender,
  parseByteValue,
  parseDestinationList,
  parseSmsNumber,
  parseValidity,
  withMessageClass,
} from '../lib/rules';
import { Edited, RED, fillSelect } from './editor';

interface BinarySmsProperties extends EditorNodeProperties {
  account: string;
  from: string;
  to: string;
  dataCoding: string | number;
  esmClass: string | number;
  validity: string | number;
  longPayload: string;
  maxParts: string | number;
  concatRef: string | number;
  destinationPort: string | number;
  sourcePort: string | number;
  messageClass: string | number;
}

const PRESETS = {
  dataCoding: [
    { value: '0', label: 'binary-sms.dataCoding.gsm7' },
    { value: '4', label: 'binary-sms.dataCoding.binary' },
    { value: '8', label: 'binary-sms.dataCoding.ucs2' },
  ],
  esmClass: [
    { value: '0', label: 'binary-sms.esmClass.plain' },
    { value: '64', label: 'binary-sms.esmClass.udh' },
  ],
};

const isByteValue = (value: unknown) => parseByteValue(value) !== undefined;
const withinBounds = (name: keyof typeof SMS_NUMBERS) => (value: unknown) => parseSmsNumber(name, value).ok;

/** The select fields: their choices, and what a node saved without the setting has. */
function fillChoices(node: Edited<BinarySmsProperties>): void {
  const longPayload = $('#node-input-longPayload');
  fillSelect(
    node,
    longPayload,
    LONG_PAYLOADS.map((value) => ({ value, label: `binary-sms.longPayload.${value}` })),
  );
  // A node saved before the setting existed keeps sending long payloads as they are.
  longPayload.val(node.longPayload || 'asIs');
  const concatRef = $('#node-input-concatRef');
  fillSelect(node, concatRef, [
    { value: '8', label: 'binary-sms.concatRef.8' },
    { value: '16', label: 'binary-sms.concatRef.16' },
  ]);
  concatRef.val(String(node.concatRef || '8'));
  const messageClass = $('#node-input-messageClass');
  fillSelect(node, messageClass, [
    { value: '', label: 'binary-sms.messageClass.none' },
    ...['0', '1', '2', '3'].map((value) => ({ value, label: `binary-sms.messageClass.${value}` })),
  ]);
  messageClass.val(String(node.messageClass ?? ''));
  const showSplit = () => $('.binary-sms-split').toggle(longPayload.val() === 'split');
  longPayload.on('change', showSplit);
  showSplit();
}

// A <select> of the common values plus "custom…", which reveals a number field;
// both write the hidden node-input-<name> field that Node-RED saves.
function presetPicker(node: Edited<BinarySmsProperties>, name: 'dataCoding' | 'esmClass'): void {
  const hidden = $('#node-input-' + name);
  const select = $('#node-input-' + name + '-preset');
  const custom = $('#node-input-' + name + '-custom');
  fillSelect(node, select, [...PRESETS[name], { value: 'custom', label: 'binary-sms.label.custom' }]);
  const stored = node[name];
  const current = String(stored === undefined || stored === '' ? 0 : stored);
  const isPreset = PRESETS[name].some((preset) => preset.value === current);
  select.val(isPreset ? current : 'custom');
  custom.val(current).toggle(!isPreset);
  const sync = () => {
    const customChosen = select.val() === 'custom';
    custom.toggle(customChosen);
    hidden.val(String(customChosen ? custom.val() : select.val())).trigger('change');
    custom.toggleClass('input-error', customChosen && !isByteValue(custom.val()));
  };
  select.on('change', sync);
  custom.on('change keyup input', sync);
}

RED.nodes.registerType<BinarySmsProperties>('binary-sms', {
  category: 'network',
  color: '#FDB985',
  defaults: {
    name: { value: '' },
    account: { value: '', type: 'infobip-account', required: true },
    from: { value: '', validate: (value) => !value || isValidSender(value) },
    to: { value: '', validate: (value) => parseDestinationList(value || '').ok },
    dataCoding: { value: 0, validate: isByteValue },
    esmClass: { value: 0, validate: isByteValue },
    validity: { value: '', validate: (value) => parseValidity(value).ok },
    longPayload: { value: 'split', validate: (value) => !value || LONG_PAYLOADS.includes(value as never) },
    maxParts: { value: '', validate: withinBounds('maxParts') },
    concatRef: { value: '8', validate: (value) => !value || ['8', '16'].includes(String(value)) },
    destinationPort: { value: '', validate: withinBounds('destinationPort') },
    sourcePort: {
      value: '',
      // A source port needs a destination port.
      validate: function (value) {
        const destination = $('#node-input-destinationPort').length
          ? $('#node-input-destinationPort').val()
          : this.destinationPort;
        return withinBounds('sourcePort')(value) && (String(value ?? '') === '' || String(destination ?? '') !== '');
      },
    },
    messageClass: {
      value: '',
      // Not every data coding can carry a class.
      validate: function (value) {
        const parsed = parseSmsNumber('messageClass', value);
        const field = $('#node-input-dataCoding');
        const coding = parseByteValue(field.length ? field.val() : this.dataCoding || 0);
        if (!parsed.ok) return false;
        return (
          parsed.value === undefined || coding === undefined || withMessageClass(coding, parsed.value) !== undefined
        );
      },
    },
  },
  inputs: 1,
  outputs: 1,
  icon: 'binary-sms.svg',
  align: 'right',
  paletteLabel: function () {
    return this._('binary-sms.paletteLabel');
  },
  label: function () {
    if (this.name) return this.name;
    const parsed = parseDestinationList(this.to || '');
    const numbers = parsed.ok ? parsed.value : [];
    if (numbers.length === 0) return this._('binary-sms.summary.none');
    if (numbers.length === 1) return this._('binary-sms.summary.one', { to: '+' + numbers[0] });
    return this._('binary-sms.summary.many', { to: '+' + numbers[0], more: numbers.length - 1 });
  },
  labelStyle: function () {
    return this.name ? 'node_label_italic' : '';
  },
  oneditprepare: function () {
    presetPicker(this, 'dataCoding');
    presetPicker(this, 'esmClass');
    fillChoices(this);
    // Valid for needs a v3 account: say so while a v1 account is chosen (accounts saved without an API are v1).
    const tip = $('#node-input-validity-v1');
    const flagV1 = () => {
      const account = RED.nodes.node(String($('#node-input-account').val() ?? '')) as { api?: string } | null;
      const v1 = !!account && (account.api ?? '') !== 'v3';
      tip.toggle(v1 && String($('#node-input-validity').val() ?? '').trim() !== '');
    };
    $('#node-input-account, #node-input-validity').on('change keyup input', flagV1);
    flagV1();
  },
});
