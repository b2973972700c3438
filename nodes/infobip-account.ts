import type { NodeAPI } from 'node-red';
import { InfobipClient } from './lib/client';
import { SmsError } from './lib/errors';
import { ACCOUNT_DEFAULTS, AccountConfig, AccountNode, CLOSE_GRACE_MS } from './lib/account';
import { Job, Pipeline } from './lib/pipeline';
import { normaliseBaseUrl } from './lib/rules';

function setting(value: string | number | undefined, fallback: number, min: number): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number >= min ? number : fallback;
}

export = function register(RED: NodeAPI): void {
  function InfobipAccountNode(this: AccountNode, config: AccountConfig): void {
    RED.nodes.createNode(this, config);
    const credentials = this.credentials ?? {};
    const baseUrl = normaliseBaseUrl(config.baseUrl ?? '');
    const authType = config.authType === 'basic' ? 'basic' : 'apiKey';
    let configError: SmsError | undefined;
    if (!baseUrl) configError = new SmsError('accountBaseUrl', { value: config.baseUrl ?? '' });
    else if (authType === 'apiKey' && !credentials.apiKey) configError = new SmsError('accountNoApiKey');
    else if (authType === 'basic' && !(credentials.username && credentials.password)) {
      configError = new SmsError('accountNoPassword');
    }

    const concurrency = Math.floor(setting(config.concurrency, ACCOUNT_DEFAULTS.concurrency, 1));
    const client = new InfobipClient({
      ...credentials,
      authType,
      baseUrl: baseUrl ?? 'http://invalid',
      timeoutMs: setting(config.timeout, ACCOUNT_DEFAULTS.timeout, 0.001) * 1000,
      maxSockets: concurrency,
    });
    const pipeline = new Pipeline(
      {
        concurrency,
        ratePerSecond: setting(config.rateLimit, ACCOUNT_DEFAULTS.rateLimit, 0),
        queueLimit: Math.floor(setting(config.queueLimit, ACCOUNT_DEFAULTS.queueLimit, 1)),
        retries: Math.floor(setting(config.retries, ACCOUNT_DEFAULTS.retries, 0)),
      },
      (request, controller) => client.send(request, controller),
    );

    this.submit = (request, hooks) => {
      if (!configError) return pipeline.submit(request, hooks);
      const refused = new Job(request, hooks);
      refused.reject(configError);
      return refused;
    };
    this.closeJobs = (jobs) => pipeline.closeJobs(jobs, CLOSE_GRACE_MS);

    this.on('close', (_removed: boolean, done: () => void) => {
      pipeline
        .close(CLOSE_GRACE_MS)
        .finally(() => client.close())
        .then(done, done);
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
