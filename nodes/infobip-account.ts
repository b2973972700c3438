import type { NodeAPI } from 'node-red';
import { Account, AccountConfig, AccountNode, readAccountConfig } from './lib/account';
import { InfobipClient } from './lib/http/client';
import { instanceId, legacyOwner } from './lib/track/instance';
import { CLOSE_GRACE_MS } from './lib/limits';
import { Pipeline } from './lib/send/pipeline';
import { processMemory } from './lib/track/process-memory';
import { Tracker } from './lib/track/tracker';

/** A base URL that sends the key in clear text over the network (loopback is this machine). */
const clearTextUrl = (baseUrl: string) =>
  /^http:/i.test(baseUrl) && !/^http:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/|$)/i.test(baseUrl);

export = function register(RED: NodeAPI): void {
  function InfobipAccountNode(this: AccountNode, config: AccountConfig): void {
    RED.nodes.createNode(this, config);
    const settings = readAccountConfig(config, this.credentials ?? {});
    const label = (field: string) => RED._(`infobip-account.label.${field}`);
    for (const { field, error } of settings.problems)
      if (error.key === 'accountNumber') error.params.name = label(field);
    if (settings.problems.length > 0) {
      const fields = settings.problems.map(({ field }) => label(field)).join(', ');
      this.warn(RED._('infobip-account.warn.invalid', { fields }));
    } else if (clearTextUrl(settings.client.baseUrl)) {
      this.warn(RED._('infobip-account.warn.clearText', { url: settings.client.baseUrl }));
    }
    const client = new InfobipClient(settings.client);
    const pipeline = new Pipeline(
      {
        ...settings.pipeline,
        // Node-RED's convention for nodes that buffer: no limit unless settings.js sets one.
        queueLimit: settings.pipeline.queueLimit ?? (Number(RED.settings.nodeMessageBufferMaxLength) || 0),
        listenerFailed: (error) =>
          this.error(
            RED._('infobip-account.warn.listener', { detail: error instanceof Error ? error.message : String(error) }),
          ),
      },
      (requests, controller) => client.send(requests, controller),
    );
    // This instance, as its tracked entries record it: instances sharing a store keep their own.
    const userDir = (RED.settings as { userDir?: string }).userDir;
    const owner = instanceId(userDir);
    const contextStorage = (RED.settings as { contextStorage?: object }).contextStorage;
    const memory = contextStorage ? undefined : processMemory(this.id);
    this.account = new Account({
      client,
      pipeline,
      configError: settings.problems[0]?.error,
      trackStore: settings.trackStore,
      makeTracker: (by) =>
        new Tracker(memory ?? this.context(), settings.trackStore, {
          limit: settings.trackLimit,
          owner,
          formerOwners: [legacyOwner(userDir)],
          by,
          warn: (detail) => this.warn(RED._('infobip-account.warn.store', { detail })),
        }),
    });

    const flowsStarted = () => this.account.flowsStarted();
    RED.events.on('flows:started', flowsStarted);

    this.on('close', (removed: boolean, done: () => void) => {
      RED.events.removeListener('flows:started', flowsStarted);
      if (removed) memory?.drop();
      this.account.close(CLOSE_GRACE_MS).then(done, done);
    });
  }

  RED.nodes.registerType(
    'infobip-account',
    InfobipAccountNode as unknown as Parameters<typeof RED.nodes.registerType>[1],
    {
      credentials: {
        apiKey: { type: 'password' },
        username: { type: 'text' },
        password: { type: 'password' },
      },
    },
  );
};
