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
