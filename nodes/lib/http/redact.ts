const MASK = '***';
/** Where an answer Infobip accepted carries Infobip's own words rather than ids, numbers or texts. */
const DESCRIBING_KEYS = new Set(['status', 'error']);

/**
 * Removes secrets from text a server sent back, in every form an echo may take:
 * as typed, JSON-escaped, URL-encoded (also with + for spaces) and base64. Every secret is
 * masked, however short: a short password is still a password.
 */
export class Redactor {
  private forms: string[] = [];
  private readonly secrets = new Set<string>();

  constructor(secrets: (string | undefined)[]) {
    secrets.forEach((secret) => this.add(secret));
  }

  /** Masks one more secret from now on (e.g. a webhook token that travels in request bodies). */
  add(secret: string | undefined): void {
    if (typeof secret !== 'string' || secret === '' || this.secrets.has(secret)) return;
    this.secrets.add(secret);
    const forms = new Set<string>(this.forms);
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
    forms.add(encodeURIComponent(secret).replace(/%20/g, '+'));
    forms.add(Buffer.from(secret, 'utf8').toString('base64'));
    forms.add(Buffer.from(secret, 'utf8').toString('base64').replace(/=+$/, ''));
    // Longest first, so a secret containing another is masked whole.
    this.forms = [...forms].sort((a, b) => b.length - a.length);
  }

  text(text: string): string {
    let result = text;
    for (const form of this.forms) if (result.includes(form)) result = result.split(form).join(MASK);
    return result;
  }

  /**
   * Redacts only Infobip's own words inside an answer it accepted: the `status` and `error`
   * objects (names, descriptions, actions), where an echo of a request could show up. Ids,
   * numbers and a device's text are left exactly as they came, however short a secret is.
   */
  descriptions<T>(value: T): T {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map((item: unknown) => this.descriptions(item)) as T;
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(result, key, {
        value: DESCRIBING_KEYS.has(key) ? this.value(item) : this.descriptions(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result as T;
  }

  /**
   * Redacts every string inside a parsed JSON value, keys included, and returns it. Works on
   * what JSON.parse made, so every escaped form on the wire (`\\/`, `\\u0041`, …) is covered.
   */
  value<T>(value: T): T {
    if (typeof value === 'string') return this.text(value) as T;
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map((item: unknown) => this.value(item)) as T;
    const clean: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty, so that a key "__proto__" stays a plain property as JSON.parse made it.
      Object.defineProperty(clean, this.text(key), {
        value: this.value(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return clean as T;
  }
}
