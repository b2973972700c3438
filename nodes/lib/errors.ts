/**
 * An error whose text lives in the message catalog under `binary-sms.errors.<key>`.
 * Pure modules throw it; the node glue translates it.
 */
export class SmsError extends Error {
  constructor(
    readonly key: string,
    readonly params: Record<string, string | number> = {},
    readonly statusCode?: number,
  ) {
    super(key);
    this.name = 'SmsError';
  }
}

/** A short, readable rendering of any value for an error message. */
export function preview(value: unknown): string {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    text = String(value);
  } else {
    try {
      text = JSON.stringify(value) ?? typeof value;
    } catch {
      text = typeof value;
    }
  }
  return text.length > 40 ? text.slice(0, 40) + '…' : text;
}
