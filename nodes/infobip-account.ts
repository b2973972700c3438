import type { NodeAPI } from 'node-red';
import { InfobipClient } from './lib/client';
import { SmsError } from './lib/errors';
import { ACCOUNT_DEFAULTS, AccountConfig, AccountNode, CLOSE_GRACE_MS } from './lib/account';
import { Job, Pipeline } from './lib/pipeline';
import { Tracker } from './lib/tracker';
import { ACCOUNT_NUMBERS, AccountNumber, normaliseBaseUrl, parseAccountNumber } from './lib/rules';

export = function register(RED: NodeAPI): void {
  function InfobipAccountNode(this: AccountNode, config: AccountConfig): void {
    RED.nodes.createNode(this, config);
    const credentials = this.credentials ?? {};
    const baseUrl = normaliseBaseUrl(config.baseUrl ?? '');
    const authType = config.authType === 'basic' ? 'basic' : 'apiKey';
    const problems: { field: string; error: SmsError }[] = [];
    if (!baseUrl)
      problems.push({ field: 'baseUrl', error: new SmsError('accountBaseUrl', { value: config.baseUrl ?? '' }) });
    if (authType === 'apiKey' && !credentials.apiKey) {
      problems.push({ field: 'apiKey', error: new SmsError('accountNoApiKey') });
    }
    if (authType === 'basic' && !(credentials.username && credentials.password)) {
      problems.push({ field: 'password', error: new SmsError('accountNoPassword') });
    }
    const number = (field: AccountNumber): number | undefined => {
      const parsed = parseAccountNumber(field, config[field]);
      if (parsed.ok) return parsed.value;
      const { min, max } = ACCOUNT_NUMBERS[field];
      const name = RED._(`infobip-account.label.${field}`);
      problems.push({ field, error: new SmsError('accountNumber', { name, value: parsed.value, min, max }) });
      return undefined;
    };

    const concurrency = number('concurrency') ?? ACCOUNT_DEFAULTS.concurrency;
    const client = new InfobipClient({
      ...credentials,
      authType,
      baseUrl: baseUrl ?? 'http://invalid',
      timeoutMs: (number('timeout') ?? ACCOUNT_DEFAULTS.timeout) * 1000,
      maxSockets: concurrency,
    });
    const pipeline = new Pipeline(
      {
        concurrency,
        ratePerSecond: number('rateLimit') ?? ACCOUNT_DEFAULTS.rateLimit,
        // Node-RED's convention for nodes that buffer: no limit unless settings.js sets one.
        queueLimit: number('queueLimit') || Number(RED.settings.nodeMessageBufferMaxLength) || 0,
        retries: number('retries') ?? ACCOUNT_DEFAULTS.retries,
        throttleWaitMs: (number('throttleWait') ?? ACCOUNT_DEFAULTS.throttleWait) * 1000,
      },
      (request, controller) => client.send(request, controller),
    );
    const trackLimit = number('trackLimit') ?? ACCOUNT_DEFAULTS.trackLimit;
    this.configError = problems[0]?.error;
    if (problems.length > 0) {
      const fields = problems.map(({ field }) => RED._(`infobip-account.label.${field}`)).join(', ');
      this.warn(RED._('infobip-account.warn.invalid', { fields }));
    }

    this.submit = (request, hooks, listener) => {
      if (!this.configError) return pipeline.submit(request, hooks, listener);
      const refused = new Job(request, hooks, listener);
      refused.end(this.configError);
      return refused;
    };
    this.closeJobs = (jobs) => pipeline.closeJobs(jobs, CLOSE_GRACE_MS);
    this.fetchReports = (limit, controller) =>
      this.configError ? Promise.reject(this.configError) : client.fetchReports(limit, controller);

    // Tracking exists only while a report node uses the account: senders without one pay nothing.
    const trackStore = config.trackStore?.trim() || undefined;
    const reportNodes = new Set<string>();
    this.useTracking = (reportNodeId) => {
      reportNodes.add(reportNodeId);
      this.tracker ??= new Tracker(this.context(), trackStore, trackLimit);
      return this.tracker;
    };
    this.releaseTracking = (reportNodeId) => {
      reportNodes.delete(reportNodeId);
      if (reportNodes.size === 0) this.tracker = undefined;
    };

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
