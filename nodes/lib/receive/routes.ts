import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node, NodeAPI } from 'node-red';

export type Request = IncomingMessage & { body?: unknown; query?: Record<string, unknown> };
export type Response = ServerResponse & { status(code: number): Response; json(body: unknown): void };
type Next = (error?: unknown) => void;
type Middleware = (req: Request, res: Response, next: Next) => void;
type Layer = { route?: { stack?: { handle: unknown }[] } };

/**
 * A POST route of a node under Node-RED's httpNodeRoot, made the way core's `http in` makes
 * its routes: behind `httpNodeMiddleware`, with one error handler, and removed again by
 * `remove()` on close. Returns undefined (after a warning) when httpNodeRoot is false.
 */
export function postRoute(
  RED: NodeAPI,
  node: Node,
  path: string,
  handler: (req: Request, res: Response) => Promise<void>,
  notCreatedWarning: string,
): { remove(): void } | undefined {
  const settings = RED.settings as { httpNodeRoot?: string | false; httpNodeMiddleware?: Middleware | Middleware[] };
  if (settings.httpNodeRoot === false) {
    node.warn(notCreatedWarning);
    return undefined;
  }
  const configured = settings.httpNodeMiddleware;
  const middleware: Middleware | Middleware[] =
    typeof configured === 'function' || Array.isArray(configured) ? configured : (_req, _res, next) => next();
  const route: Middleware = (req, res, next) => {
    handler(req, res).catch(next);
  };
  // Express knows an error handler by its four parameters.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const onError = (error: unknown, _req: Request, res: Response, _next: Next) => {
    node.error(String(error instanceof Error ? error.message : error));
    if (!res.headersSent) res.status(500).json({ error: 'internal error' });
  };
  const app = RED.httpNode as unknown as {
    post(path: string, ...handlers: unknown[]): void;
    _router?: { stack: Layer[] };
    router?: { stack: Layer[] };
  };
  app.post(path, middleware, route, onError);
  return {
    remove() {
      // Express 4 keeps the routes in _router, express 5 in router.
      const stack = (app._router ?? app.router)?.stack ?? [];
      const index = stack.findIndex((layer) => layer.route?.stack?.some((entry) => entry.handle === route));
      if (index >= 0) stack.splice(index, 1);
    },
  };
}
