export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

/**
 * Shows a node's status without flooding the editor during bursts: a change of
 * colour shows at once, further updates of the same colour at most every `intervalMs`.
 */
export class ThrottledStatus {
  private shown?: NodeStatus;
  private pending?: NodeStatus;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly apply: (status: NodeStatus) => void,
    private readonly intervalMs = 250,
  ) {}

  show(status: NodeStatus): void {
    const shown = this.shown;
    if (shown && shown.fill === status.fill && shown.shape === status.shape && shown.text === status.text) {
      this.pending = undefined;
      return;
    }
    if (this.timer && shown?.fill === status.fill) {
      this.pending = status;
      return;
    }
    this.pending = undefined;
    this.shown = status;
    this.apply(status);
    if (!this.timer) this.startQuietPeriod();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.shown = undefined;
    this.apply({});
  }

  private startQuietPeriod(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const next = this.pending;
      this.pending = undefined;
      if (next) this.show(next);
    }, this.intervalMs);
  }
}
