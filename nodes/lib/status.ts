export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

type Fill = NonNullable<NodeStatus['fill']>;
type Shape = NonNullable<NodeStatus['shape']>;

/**
 * Shows a node's status without flooding the editor during bursts: a change of colour
 * shows at once, further updates of the same colour at most every `intervalMs`. The text is
 * a catalog key the editor translates, or a function so that a text with parameters is only
 * built (and translated) when it is actually shown.
 */
export class ThrottledStatus {
  private shownFill?: Fill;
  private pending?: { fill: Fill; shape: Shape; text: string | (() => string) };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly apply: (status: NodeStatus) => void,
    private readonly intervalMs = 250,
  ) {}

  show(fill: Fill, shape: Shape, text: string | (() => string)): void {
    if (this.timer && this.shownFill === fill) {
      this.pending = { fill, shape, text };
      return;
    }
    this.pending = undefined;
    this.shownFill = fill;
    this.apply({ fill, shape, text: typeof text === 'string' ? text : text() });
    if (!this.timer) this.startQuietPeriod();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.shownFill = undefined;
    this.apply({});
  }

  private startQuietPeriod(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const next = this.pending;
      this.pending = undefined;
      if (next) this.show(next.fill, next.shape, next.text);
    }, this.intervalMs);
  }
}

/**
 * Runs `show` now and again once the flows have started: Node-RED connects Status nodes only
 * after every node of a flow is built, so a status set while a node is built never reaches them.
 * Returns the function that cancels the second run (call it on close).
 */
export function showAfterStart(events: NodeJS.EventEmitter, show: () => void): () => void {
  show();
  return afterFlowsStarted(events, show);
}

/** Runs `then` once, when the flows have next started. Returns the function that cancels it. */
export function afterFlowsStarted(events: NodeJS.EventEmitter, then: () => void): () => void {
  events.once('flows:started', then);
  return () => events.removeListener('flows:started', then);
}
