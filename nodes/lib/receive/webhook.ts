import crypto from 'node:crypto';
import bodyParser from 'body-parser';
import type { Request, Response } from './routes';

/** The largest body a push may have; Infobip pushes buckets far smaller. */
export const MAX_BODY = '1mb';
/** Seconds a push answered while the node closes is told to wait. */
const CLOSING_RETRY_S = 10;
const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;
const parseJson = bodyParser.json({ limit: MAX_BODY, type: () => true });

export interface WebhookOptions<T> {
  /** The token a push must carry as `?token=`; empty accepts any push (warned about at deploy). */
  token: string;
  /** Takes the items of a valid body, or undefined for a body of the wrong shape. */
  read(body: unknown): T[] | undefined;
  /** What a body of the wrong shape is told it should be. */
  expected: string;
  /** Emits the items; the push is answered 200 only after it resolved. */
  emit(items: T[]): Promise<void>;
  /** False while the node closes: a push is then answered 503, to be pushed again. */
  accepting?: () => boolean;
}

/**
 * Answers pushed bodies: 401 without the right token, 415 for anything but JSON (a form or
 * text/plain POST from any web page needs no CORS preflight), 413 over 1 MB (after reading the
 * rest, so the pusher's connection stays usable), 400 for a body that is not JSON or not of the
 * expected shape, and 200 once the items were emitted.
 */
export function webhookHandler<T>(options: WebhookOptions<T>): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const presented = typeof req.query?.token === 'string' ? req.query.token : '';
    if (options.token && !sameSecret(presented, options.token)) {
      res.status(401).json({ error: 'token missing or wrong' });
      return;
    }
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) {
      res.status(415).json({ error: 'Content-Type must be application/json' });
      return;
    }
    const failure = await new Promise<{ status?: number; type?: string } | undefined>((resolve) =>
      parseJson(req, res, (error?: unknown) => resolve(error as { status?: number } | undefined)),
    );
    if (failure) {
      const status = failure.status === 413 ? 413 : failure.status === 415 ? 415 : 400;
      const text =
        status === 413 ? 'body larger than 1 MB' : status === 415 ? 'unsupported encoding' : 'body is not JSON';
      res.status(status).json({ error: text });
      return;
    }
    const items = options.read(req.body);
    if (!items) {
      res.status(400).json({ error: `expected ${options.expected}` });
      return;
    }
    if (options.accepting && !options.accepting()) {
      res.setHeader('Retry-After', String(CLOSING_RETRY_S));
      res.status(503).json({ error: 'restarting, push again later' });
      return;
    }
    await options.emit(items);
    res.status(200).json({ accepted: items.length });
  };
}

/** Compares a presented token with the configured one in constant time. */
function sameSecret(presented: string, expected: string): boolean {
  const digest = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest();
  return crypto.timingSafeEqual(digest(presented), digest(expected));
}
