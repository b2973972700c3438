import { SmsError } from '../errors';
import type { LongPayload } from '../rules';

/** One SMS carries 140 octets of user data, a User Data Header included (3GPP TS 23.040). */
export const SMS_OCTETS = 140;
/** The ESM class bit that says the user data starts with a header (UDHI). */
export const UDHI = 0x40;
/** The most a header can hold after its length byte (UDHL), which is one octet. */
const MAX_UDHL = 0xff;

/** Information element identifiers this module writes or must not write twice. */
const IEI = { concat8: 0x00, ports8: 0x04, ports16: 0x05, concat16: 0x08 };
const CONCAT_BYTES = { 8: 5, 16: 6 };

export interface LongOptions {
  mode: LongPayload;
  maxParts: number;
  referenceBits: 8 | 16;
  /** 16-bit application ports to address in every part. */
  ports?: { destination: number; source: number };
  /** A header given apart from the data (msg.udh), starting with its length byte. */
  header?: Uint8Array;
  /** UCS-2 data: a part never ends inside a character. */
  ucs2: boolean;
  /** Whether the account can send parts (v3). */
  canSplit: boolean;
  /** The next concatenation reference of the account. */
  reference(): number;
}

/** What goes out: one SMS, or the parts of a concatenated one, each 140 octets at most. */
export interface Layout {
  parts: Uint8Array[];
  esmClass: number;
}

/**
 * Lays a payload out as SMS: adds the port element, keeps a header of the user's (its own, with
 * UDHI in `esmClass`, or `options.header`), and splits what does not fit one SMS into parts that
 * each carry the header with a concatenation element added, its length byte recomputed (as
 * Kannel's `sms_split` does). A payload that fits, with nothing to add, goes unchanged.
 */
export function layOut(payload: Uint8Array, esmClass: number, options: LongOptions): Layout {
  const ownHeader = (esmClass & UDHI) !== 0 && !options.header;
  if (options.mode === 'asIs' && !options.ports && !options.header) return { parts: [payload], esmClass };
  if (!ownHeader && !options.ports && !options.header && payload.length <= SMS_OCTETS) {
    return { parts: [payload], esmClass };
  }
  const { elements, data } = options.header
    ? { elements: readElements(options.header, 'msg.udh', true), data: payload }
    : ownHeader
      ? splitOwnHeader(payload)
      : { elements: [], data: payload };
  if (options.ports) {
    if (elements.some((element) => element[0] === IEI.ports16 || element[0] === IEI.ports8)) {
      throw new SmsError('udhPortsTwice');
    }
    const { destination, source } = options.ports;
    elements.push(Uint8Array.of(IEI.ports16, 4, destination >> 8, destination & 0xff, source >> 8, source & 0xff));
  }
  // Only the port element can make it longer than its own length byte allowed: one octet cannot
  // say more, and written anyway the length would wrap (260 sent as 4).
  if (sum(elements) > MAX_UDHL) throw new SmsError('udhOver255', { bytes: sum(elements) });
  const headerBytes = elements.length > 0 ? 1 + sum(elements) : 0;
  const total = headerBytes + data.length;
  if (total <= SMS_OCTETS || options.mode === 'asIs') {
    // An empty header (UDHL 0, from the payload or msg.udh) is dropped with its length byte, so
    // UDHI must go too: kept, it would make the handset read the first data byte as the header's
    // length. Dropping it (rather than sending `00`) is a valid SMS every handset reads the same
    // way, and leaves the data the whole 140 octets.
    return { parts: [join(elements, [], data)], esmClass: elements.length > 0 ? esmClass | UDHI : esmClass & ~UDHI };
  }
  // Header and data apart: a header may alone take more than one SMS, which leaves no room to name.
  if (options.mode === 'refuse') throw new SmsError('tooLong', { header: headerBytes, data: data.length });
  if (!options.canSplit) throw new SmsError('splitNeedsV3', { bytes: total });
  if (elements.some((element) => element[0] === IEI.concat8 || element[0] === IEI.concat16)) {
    throw new SmsError('udhConcatTwice');
  }
  const partHeader = 1 + sum(elements) + CONCAT_BYTES[options.referenceBits];
  let perPart = SMS_OCTETS - partHeader;
  if (options.ucs2) perPart -= perPart % 2;
  if (perPart < 1) throw new SmsError('udhTooLong', { bytes: partHeader });
  const count = Math.ceil(data.length / perPart);
  if (count > options.maxParts) {
    throw new SmsError('tooManyParts', { bytes: data.length, parts: count, max: options.maxParts });
  }
  const reference = options.reference();
  const parts = Array.from({ length: count }, (_, index) => {
    const concat =
      options.referenceBits === 8
        ? [IEI.concat8, 3, reference & 0xff, count, index + 1]
        : [IEI.concat16, 4, (reference >> 8) & 0xff, reference & 0xff, count, index + 1];
    return join(elements, concat, data.subarray(index * perPart, (index + 1) * perPart));
  });
  return { parts, esmClass: esmClass | UDHI };
}

/** The payload's own header (UDHI set) and the data after it. */
function splitOwnHeader(payload: Uint8Array): { elements: Uint8Array[]; data: Uint8Array } {
  const length = payload[0];
  if (1 + length > payload.length) {
    throw new SmsError('udhLength', { field: 'msg.payload', length, available: payload.length - 1 });
  }
  return {
    elements: readElements(payload.subarray(0, 1 + length), 'msg.payload', false),
    data: payload.subarray(1 + length),
  };
}

/**
 * The information elements of a header that starts with its length byte. Each element's length
 * must fit the header; `exact`: the header must also end where its length byte says.
 */
function readElements(header: Uint8Array, field: string, exact: boolean): Uint8Array[] {
  const end = 1 + header[0];
  if (header.length === 0 || (exact && header.length !== end)) {
    throw new SmsError('udhLength', { field, length: header[0] ?? 0, available: Math.max(0, header.length - 1) });
  }
  const elements: Uint8Array[] = [];
  for (let at = 1; at < end;) {
    const length = at + 1 < end ? header[at + 1] : undefined;
    if (length === undefined || at + 2 + length > end) {
      throw new SmsError('udhElement', {
        field,
        byte: at,
        id: hex(header[at]),
        length: length ?? 0,
        left: Math.max(0, end - at - 2),
      });
    }
    elements.push(header.slice(at, at + 2 + length));
    at += 2 + length;
  }
  return elements;
}

function join(elements: Uint8Array[], concat: number[], data: Uint8Array): Uint8Array {
  const headerLength = sum(elements) + concat.length;
  const out = new Uint8Array((headerLength > 0 ? 1 + headerLength : 0) + data.length);
  let at = 0;
  if (headerLength > 0) out[at++] = headerLength;
  for (const element of elements) {
    out.set(element, at);
    at += element.length;
  }
  out.set(concat, at);
  out.set(data, at + concat.length);
  return out;
}

const sum = (elements: Uint8Array[]) => elements.reduce((total, element) => total + element.length, 0);
const hex = (byte: number | undefined) => (byte ?? 0).toString(16).padStart(2, '0');
