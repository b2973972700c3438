import type { ContextLike } from './tracker';

const memories = new Map<string, Map<string, unknown>>();

/**
 * A context in this process's memory, one per account, that outlives the account node: without
 * context stores in settings.js, Node-RED deletes a node's context whenever the node closes, so
 * every full deploy would forget what was sent. With stores configured, Node-RED keeps a node's
 * context across deploys and the account uses its own.
 */
export function processMemory(accountId: string): ContextLike & { drop(): void } {
  let data = memories.get(accountId);
  if (!data) memories.set(accountId, (data = new Map<string, unknown>()));
  const kept = data;
  return {
    get: (key, _store, callback) => callback(null, kept.get(key)),
    set: (key, value, _store, callback) => {
      if (value === undefined) kept.delete(key);
      else kept.set(key, value);
      callback(null);
    },
    keys: (_store, callback) => callback(null, [...kept.keys()]),
    /** The account was removed: what it remembered goes too. */
    drop: () => memories.delete(accountId),
  };
}
