import type { EditorNodeProperties } from 'node-red';
import { ACCOUNT_FIELD_DEFAULTS as DEFAULTS, AccountNumber, parseAccountNumber, parseBaseUrl } from '../lib/rules';
import { RED, fillSelect } from './editor';
import { addSidebar, removeSidebar } from './sidebar';

interface AccountProperties extends EditorNodeProperties {
  api: string;
  baseUrl: string;
  authType: string;
  concurrency: string | number;
  rateLimit: string | number;
  queueLimit: string | number;
  timeout: string | number;
  retries: string | number;
  throttleWait: string | number;
  trackLimit: string | number;
  batchSize: string | number;
  trackStore: string;
  resolveUnknown: string | number;
  idempotent: boolean;
  dailyLimit: string | number;
}

interface AccountCredentials {
  apiKey: string;
  username: string;
  password: string;
  redisUrl: string;
}

const withinBounds = (name: AccountNumber) => (value: string) => parseAccountNumber(name, value).ok;
/** A text of the account's catalog, also where no node gives `this._` (validators run on load too). */
const accountText = (key: string) => RED._(`node-red-contrib-infobip-binary-sms/infobip-account:${key}`);
/**
 * The base URL by the runtime's rule; a user name or password in it is refused with the reason.
 * Two parameters: Node-RED (3.1 and later) then shows a returned text as the reason (the typings
 * know only a boolean).
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- Node-RED reads the parameter count
const baseUrlValid = function (value: string, _options?: unknown): boolean | string {
  const checked = parseBaseUrl(value || '');
  if (checked.ok) return true;
  return checked.problem === 'credentials' ? accountText('infobip-account.errors.baseUrlCredentials') : false;
} as unknown as (value: string) => boolean;

RED.nodes.registerType<AccountProperties, AccountCredentials>('infobip-account', {
  category: 'config',
  defaults: {
    name: { value: '' },
    api: { value: DEFAULTS.api },
    baseUrl: {
      value: DEFAULTS.baseUrl,
      required: true,
      validate: baseUrlValid,
    },
    authType: { value: DEFAULTS.authType },
    concurrency: { value: DEFAULTS.concurrency, validate: withinBounds('concurrency') },
    rateLimit: { value: DEFAULTS.rateLimit, validate: withinBounds('rateLimit') },
    queueLimit: { value: DEFAULTS.queueLimit, validate: withinBounds('queueLimit') },
    timeout: { value: DEFAULTS.timeout, validate: withinBounds('timeout') },
    retries: { value: DEFAULTS.retries, validate: withinBounds('retries') },
    throttleWait: { value: DEFAULTS.throttleWait, validate: withinBounds('throttleWait') },
    trackLimit: { value: DEFAULTS.trackLimit, validate: withinBounds('trackLimit') },
    batchSize: { value: DEFAULTS.batchSize, validate: withinBounds('batchSize') },
    trackStore: { value: DEFAULTS.trackStore },
    resolveUnknown: { value: DEFAULTS.resolveUnknown, validate: withinBounds('resolveUnknown') },
    idempotent: { value: DEFAULTS.idempotent },
    dailyLimit: { value: DEFAULTS.dailyLimit, validate: withinBounds('dailyLimit') },
  },
  credentials: {
    apiKey: { type: 'password' },
    username: { type: 'text' },
    password: { type: 'password' },
    redisUrl: { type: 'password' },
  },
  // The Infobip sidebar tab lives while the type is in the palette.
  onpaletteadd: addSidebar,
  onpaletteremove: removeSidebar,
  label: function () {
    if (this.name) return this.name;
    // Without a user name or password an older flow may still hold in its URL.
    return (this.baseUrl || '').replace(/^https?:\/\//, '').replace(/^[^/?#]*@/, '') || 'Infobip';
  },
  oneditprepare: function () {
    const api = $('#node-config-input-api');
    fillSelect(this, api, [
      { value: 'v3', label: 'infobip-account.api.v3' },
      { value: 'v1', label: 'infobip-account.api.v1' },
    ]);
    // An account saved before the setting existed sends through v1, and the dialog says so.
    api.val(this.api || 'v1');
    const authType = $('#node-config-input-authType');
    fillSelect(this, authType, [
      { value: 'apiKey', label: 'infobip-account.authType.apiKey' },
      { value: 'basic', label: 'infobip-account.authType.basic' },
    ]);
    authType.val(this.authType || 'apiKey');
    const showFields = () => {
      const basic = authType.val() === 'basic';
      $('.infobip-account-apiKey').toggle(!basic);
      $('.infobip-account-basic').toggle(basic);
    };
    authType.on('change', showFields);
    showFields();
    // Lost answers are looked up by the ids the node chose, which only v3 messages carry.
    const showV3 = () => $('.infobip-account-v3').toggle(api.val() === 'v3');
    api.on('change', showV3);
    showV3();
  },
});
