import { SmsError, preview } from '../errors';

const HEX_PAIRS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const HEX_SEPARATORS = /[\s:,-]+/;

/**
 * Turns msg.payload into Infobip's hex form: lower-case pairs separated by one space.
 * Accepts a Buffer or any byte view (also from another realm, e.g. a Function node),
 * an ArrayBuffer, a Buffer serialised to JSON, an array of integers 0–255, or a hex string.
 * The text is built by one join, so it is one flat string: one built with `+=` is a rope of a
 * few hundred small strings that a message waiting in the queue would hold on to.
 */
export function payloadToHex(payload: unknown): string {
  return bytesToHex(payloadToBytes(payload));
}

export function bytesToHex(bytes: ArrayLike<number>): string {
  const pairs = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) pairs[i] = HEX_PAIRS[bytes[i]];
  return pairs.join(' ');
}

/** The bytes of msg.payload in any of the forms payloadToHex accepts; never empty. */
export function payloadToBytes(payload: unknown): Uint8Array {
  const bytes = anyToBytes(payload);
  if (bytes.length === 0) throw new SmsError('payloadEmpty');
  return bytes;
}

/** The bytes of a value in any of those forms (a view of them where it can be: nothing is copied). */
export function anyToBytes(value: unknown): Uint8Array {
  if (value === undefined || value === null) throw new SmsError('payloadMissing');
  if (typeof value === 'string') return hexStringToBytes(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Object.prototype.toString.call(value) === '[object ArrayBuffer]') {
    return new Uint8Array(value as ArrayBuffer);
  }
  if (Array.isArray(value)) return Uint8Array.from(checkByteArray(value));
  if (isSerialisedBuffer(value)) return Uint8Array.from(checkByteArray(value.data));
  throw new SmsError('payloadType', { type: describeType(value) });
}

function hexStringToBytes(text: string): Uint8Array {
  const body = text.trim().replace(/^0x/i, '');
  const groups = body === '' ? [] : body.split(HEX_SEPARATORS);
  const bytes: number[] = [];
  for (const group of groups) {
    if (!/^[0-9a-fA-F]*$/.test(group)) {
      throw new SmsError('payloadHexCharacter', { text: preview(group) });
    }
    if (group.length % 2 !== 0) throw new SmsError('payloadHexOdd', { text: preview(group) });
    for (let i = 0; i < group.length; i += 2) bytes.push(parseInt(group.slice(i, i + 2), 16));
  }
  return Uint8Array.from(bytes);
}

function checkByteArray(values: unknown[]): number[] {
  values.forEach((value, index) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) {
      throw new SmsError('payloadArrayValue', { index, value: preview(value) });
    }
  });
  return values as number[];
}

function isSerialisedBuffer(value: unknown): value is { type: 'Buffer'; data: unknown[] } {
  const candidate = value as { type?: unknown; data?: unknown } | null;
  return (
    typeof candidate === 'object' && candidate !== null && candidate.type === 'Buffer' && Array.isArray(candidate.data)
  );
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
