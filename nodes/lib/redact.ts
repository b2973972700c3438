const MASK = '***';

/**
 * Removes secrets from text a server sent back, in every form an echo may take:
 * as typed, JSON-escaped, URL-encoded (also with + for spaces) and base64.
 */
export class Redactor {
  private readonly forms: string[];

  constructor(secrets: (string | undefined)[]) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (typeof secret !== 'string' || secret.length < 4) continue;
      forms.add(secret);
      forms.add(JSON.stringify(secret).slice(1, -1));
      forms.add(encodeURIComponent(secret));
      forms.add(encodeURIComponent(secret).replace(/%20/g, '+'));
      forms.add(Buffer.from(secret, 'utf8').toString('base64'));
      forms.add(Buffer.from(secret, 'utf8').toString('base64').replace(/=+$/, ''));
    }
    // Longest first, so a secret containing another is masked whole.
    this.forms = [...forms].sort((a, b) => b.length - a.length);
  }

  text(text: string): string {
    let result = text;
    for (const form of this.forms) if (result.includes(form)) result = result.split(form).join(MASK);
    return result;
  }

  /** Whether a raw body may hold a secret: one of its forms, or a \u escape that JSON.parse would decode. */
  mayHoldSecret(raw: string): boolean {
    return raw.includes('\\u') || this.forms.some((form) => raw.includes(form));
  }

  /** Redacts every string inside a parsed JSON value, in place; returns the value. */
  value<T>(value: T): T {
    if (typeof value === 'string') return this.text(value) as T;
    if (typeof value !== 'object' || value === null) return value;
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = this.value(record[key]);
    return value;
  }
}
