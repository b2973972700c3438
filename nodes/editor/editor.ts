// What the editor scripts share: Node-RED's editor API, as the page provides it.
import type { EditorNodeInstance, EditorNodeProperties, EditorRED } from 'node-red';
import { RECEIVER_NUMBERS, normaliseBaseUrl, normaliseRoutePath, parseReceiverNumber } from '../lib/rules';

/** The editor's global RED, present before any node's script runs. */
export const RED = (window as unknown as { RED: EditorRED }).RED;

/** A node being edited: its properties and its catalog lookup. */
export type Edited<T extends EditorNodeProperties> = EditorNodeInstance<T> & T;

/** Fills a <select> with choices whose labels come from the node's catalog. */
export function fillSelect(
  node: { _: (key: string) => string },
  select: JQuery,
  choices: { value: string; label: string }[],
): void {
  for (const choice of choices) $('<option>').val(choice.value).text(node._(choice.label)).appendTo(select);
}

/** What Node-RED puts in a password field whose secret is stored on the server. */
const STORED_SECRET = '__PWRD__';

export function randomToken(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

// The URL Infobip pushes to: the Public URL (else this editor's origin), httpNodeRoot, the path and
// the token (shown while it was typed or made in this dialog; a stored one is never sent back).
export function webhookUrl(path: string, token: string, publicUrl: string): string {
  const root = String((RED.settings as { httpNodeRoot?: string }).httpNodeRoot || '/').replace(/\/$/, '');
  const clean = normaliseRoutePath(path || '');
  const origin = normaliseBaseUrl(publicUrl) ?? window.location.origin;
  const shown = token === STORED_SECRET ? '…' : encodeURIComponent(token);
  return clean ? origin + root + clean + (token ? '?token=' + shown : '') : '';
}

/**
 * Gives a new node a random webhook token in its dialog. Nodes saved before tokens were offered
 * keep what they have; an emptied token stays allowed (the node warns at deploy).
 */
export function offerRandomToken(tokenOffered: unknown): void {
  const token = $('#node-input-token');
  if (String(tokenOffered) !== 'true' && tokenOffered !== undefined && !token.val()) token.val(randomToken());
  $('#node-input-tokenOffered').val('true');
}

/** Validates a webhook path: while the dialog is open its mode field decides, otherwise the saved mode. */
export function webhookPathValid(this: { mode?: string }, value: string): boolean {
  const field = $('#node-input-mode');
  const mode = field.length ? field.val() : this.mode;
  return mode !== 'webhook' || normaliseRoutePath(value || '') !== undefined;
}

/** A validator for a numeric setting of the report and inbound nodes, by the rule the runtime uses. */
export const withinReceiverBounds = (name: keyof typeof RECEIVER_NUMBERS) => (value: string) =>
  parseReceiverNumber(name, value).ok;

/**
 * The receiving part of the report and inbound dialogs: the mode select (polling or webhook)
 * showing each mode's fields, a random token for a new node, and the URL Infobip pushes to.
 * `type` names the node's catalog, its CSS classes and its URL element; the field
 * `publicUrlField`, when given, is where that URL starts.
 */
export function prepareReceiverDialog(
  node: { mode?: string; tokenOffered?: unknown; _: (key: string) => string },
  type: string,
  publicUrlField?: string,
): void {
  const mode = $('#node-input-mode');
  fillSelect(node, mode, [
    { value: 'poll', label: `${type}.mode.poll` },
    { value: 'webhook', label: `${type}.mode.webhook` },
  ]);
  mode.val(node.mode || 'poll');
  const showMode = () => {
    const webhook = mode.val() === 'webhook';
    $(`.${type}-poll`).toggle(!webhook);
    $(`.${type}-webhook`).toggle(webhook);
    $('#node-input-path').trigger('change');
  };
  offerRandomToken(node.tokenOffered);
  const value = (selector: string) => String($(selector).val() ?? '');
  const showUrl = () =>
    $(`#${type}-url`).text(
      webhookUrl(value('#node-input-path'), value('#node-input-token'), publicUrlField ? value(publicUrlField) : ''),
    );
  mode.on('change', showMode);
  $(['#node-input-path', '#node-input-token', publicUrlField].filter(Boolean).join(', ')).on(
    'change keyup input',
    showUrl,
  );
  showMode();
  showUrl();
}
