import type { NodeMessage } from 'node-red';
import type { ContextLike } from '../track/tracker';

/** What node.send takes: one message, or one entry per output (null for none). */
export type Output = NodeMessage | (NodeMessage | null)[];

const KEY = 'heldOutputs';
/**
 * What closing nodes kept, by node id, for as long as the process lives: Node-RED deletes a
 * node's context when it closes unless settings.js configures context stores, so a deploy could
 * otherwise lose it. The node's context (its account's Track store) carries it across restarts.
 */
const keptInProcess = new Map<string, Output[]>();

/**
 * Outputs of a receiving node that must not be lost while it closes. Node-RED drops what a node
 * sends while a full deploy or a restart closes it, and Infobip hands out each report and inbound
 * SMS once: so from the start of close, outputs are kept instead of sent, written to the node's
 * context (the account's Track store) at the end of close, and sent by the node's next self once
 * the flows have started. A node that is removed sends them at once instead: nothing follows it.
 */
export class HeldOutputs {
  private closing = false;
  private readonly kept: Output[] = [];

  constructor(
    private readonly nodeId: string,
    private readonly context: Pick<ContextLike, 'get' | 'set'>,
    private readonly store: string | undefined,
    private readonly sendNow: (output: Output) => void,
    private readonly warn: (detail: string) => void,
  ) {}

  /** Whether close has begun (a webhook then answers 503, so that Infobip pushes again later). */
  get isClosing(): boolean {
    return this.closing;
  }

  send(output: Output): void {
    if (this.closing) this.kept.push(output);
    else this.sendNow(output);
  }

  /** From now on outputs are kept. */
  startClosing(): void {
    this.closing = true;
  }

  /** At the end of close: keeps what came meanwhile for the next start, or sends it when the node is removed. */
  async finishClosing(removed: boolean): Promise<void> {
    if (this.kept.length === 0) return;
    const kept = this.kept.splice(0);
    if (removed) {
      kept.forEach((output) => this.sendNow(output));
      return;
    }
    const all = [...(await this.read()), ...kept];
    keptInProcess.set(this.nodeId, all);
    await this.write(all);
  }

  /** At start, once the flows have started (`started`): sends what an earlier self kept, in order, and forgets it. */
  async resume(started: Promise<void>): Promise<void> {
    const kept = await this.read();
    if (kept.length === 0) return;
    await started;
    // Closed again before the flows started: the outputs stay kept for the next start.
    if (this.closing) return;
    kept.forEach((output) => this.sendNow(output));
    keptInProcess.delete(this.nodeId);
    await this.write(undefined);
  }

  private read(): Promise<Output[]> {
    const inProcess = keptInProcess.get(this.nodeId);
    if (inProcess) return Promise.resolve(inProcess);
    return new Promise((resolve) => {
      try {
        this.context.get(KEY, this.store, (error, value) => {
          if (error) this.warn(error.message);
          resolve(Array.isArray(value) ? (value as Output[]) : []);
        });
      } catch (error) {
        this.warn((error as Error).message);
        resolve([]);
      }
    });
  }

  private write(value: Output[] | undefined): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.context.set(KEY, value, this.store, (error) => {
          if (error) this.warn(error.message);
          resolve();
        });
      } catch (error) {
        this.warn((error as Error).message);
        resolve();
      }
    });
  }
}
