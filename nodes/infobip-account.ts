import os from 'node:os';
import path from 'node:path';
import type { NodeAPI } from 'node-red';
import { Account, type AccountNode } from './lib/account/account';
import { type AccountConfig, readAccountConfig, storePersists } from './lib/account/settings';
import { LocalDaily, contextCounts, fileCounts, processCounts } from './lib/account/daily-store';
import type { DailyLimit } from './lib/daily';
import { SharedDaily } from './lib/shared/daily';
import { processAccount, processFlowsStarted } from './lib/account/process-account';
import { InfobipClient } from './lib/http/client';
import { instanceId, legacyOwner } from './lib/track/instance';
import { CLOSE_GRACE_MS } from './lib/limits';
import { Pipeline } from './lib/send/pipeline';
import { Resolver } from './lib/send/resolver';
import { sendRequests } from './lib/send/outputs';
import { fieldOfProperty } from './lib/send/request';
import { processMemory } from './lib/track/process-memory';
import { Tracker } from './lib/track/tracker';
import { SharedBudget } from './lib/shared/budget';
import { SharedState, accountPrefix } from './lib/shared/redis';
import { SharedTracker } from './lib/track/shared-tracker';
import { CHANGED, STATS_PATH, STATS_TOPIC, StatsHub } from './lib/stats/hub';
import { AccountStats, type Gauges, NO_STATS } from './lib/stats/stats';
import { METRICS_PATH, Metrics } from './lib/stats/metrics';

/** A base URL that sends the key in clear text over the network (loopback is this machine). */
const clearTextUrl = (baseUrl: string) =>
  /^http:/i.test(baseUrl) && !/^http:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?(\/|$)/i.test(baseUrl);

export = function register(RED: NodeAPI): void {
  // The editor's Infobip sidebar: the pictures from the admin API (permission-checked), fetched
  // again when comms says they changed; comms reaches every user with status.read, so it says
  // nothing more (retained: an editor that reconnects hears it too).
  // settings.js `infobipSidebar: false` turns it off: no endpoint, no tab (the counts go on for the metrics).
  const { infobipSidebar, infobipAccountSidebar, infobipMetrics } = RED.settings as {
    infobipSidebar?: unknown;
    infobipAccountSidebar?: unknown;
    infobipMetrics?: unknown;
  };
  const sidebar = infobipSidebar !== false && infobipAccountSidebar !== false;
  const hub = new StatsHub(() => sidebar && RED.comms.publish(STATS_TOPIC, CHANGED, true));
  if (sidebar) {
    RED.httpAdmin.get(STATS_PATH, RED.auth.needsPermission('infobip-binary-sms.read'), (_req, res) => {
      res.json(hub.answer());
    });
  }
  // Prometheus metrics at <httpAdminRoot>/infobip-binary-sms/metrics, for a scraper with an
  // adminAuth token that may read; settings.js `infobipMetrics: false` turns them off.
  const metrics = infobipMetrics === false ? undefined : new Metrics();
  if (metrics) {
    RED.httpAdmin.get(METRICS_PATH, RED.auth.needsPermission('infobip-binary-sms.read'), (_req, res) => {
      metrics.text(hub.pictures()).then(
        (text) => res.type(metrics.contentType).send(text),
        (error: unknown) => res.status(500).type('text/plain').send(String(error)),
      );
    });
  }

  // Account nodes that restarted and did not come back let go of what they held.
  if (!RED.events.listeners('flows:started').includes(processFlowsStarted))
    RED.events.on('flows:started', processFlowsStarted);

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
    // With the sidebar and the metrics off, the nodes count into nothing.
    const stats = sidebar || metrics ? new AccountStats(() => hub.changed()) : undefined;
    const counts = stats ?? NO_STATS;
    const name = config.name ?? '';
    const client = new InfobipClient({
      ...settings.client,
      propertyName: fieldOfProperty,
      observe: (endpoint, status, seconds) => {
        counts.answered(status);
        metrics?.observe(this.id, name, endpoint, seconds);
      },
    });
    // This instance, as its tracked entries record it: instances sharing a store keep their own.
    const userDir = (RED.settings as { userDir?: string }).userDir;
    const owner = instanceId(userDir);
    // Account nodes of one Infobip account find each other by its base URL and credentials: in this
    // Node-RED through the process-wide account (the sign-in used, a password included: a mistyped
    // one is another account), and copies of Node-RED through Redis (its keys named as they were).
    const { baseUrl, authType, apiKey, username, password } = settings.client;
    const identity = accountPrefix(baseUrl, authType === 'basic' ? `user ${username}` : (apiKey ?? ''));
    const signIn = authType === 'basic' ? `basic ${username}\n${password}` : `key ${apiKey}`;
    const processWide = processAccount(
      settings.problems.length === 0 ? accountPrefix(baseUrl, signIn) : `node ${this.id}`,
    );
    const shared =
      settings.redisUrl && settings.problems.length === 0
        ? new SharedState({
            url: settings.redisUrl,
            prefix: identity,
            name: `${os.hostname()}/${owner.slice(0, 8)}`,
            viewChanged: () => hub.changed(),
            changed: (available, failure) => {
              if (available) this.log(RED._('infobip-account.warn.sharedBack'));
              else this.warn(RED._('infobip-account.warn.sharedDown', { detail: failure ?? '' }));
              this.account?.sharingChanged();
              hub.changed();
            },
          })
        : undefined;
    const limits = { ratePerSecond: settings.pipeline.ratePerSecond, concurrency: settings.pipeline.concurrency };
    // Without Redis, the account nodes of one Infobip account in this Node-RED share one budget.
    const budget = shared
      ? new SharedBudget(shared, { ...limits, requestTimeoutMs: settings.client.timeoutMs })
      : processWide.budget;
    const pipeline = new Pipeline(
      {
        ...settings.pipeline,
        observer: {
          requestStarted: () => counts.requestStarted(),
          throttled: (status) => counts.add(status === 503 ? 'throttled503' : 'throttled429'),
          retried: (count) => counts.add('retries', count),
        },
        budget,
        // Node-RED's convention for nodes that buffer: no limit unless settings.js sets one.
        queueLimit: settings.pipeline.queueLimit ?? (Number(RED.settings.nodeMessageBufferMaxLength) || 0),
        listenerFailed: (error) =>
          this.error(
            RED._('infobip-account.warn.listener', { detail: error instanceof Error ? error.message : String(error) }),
          ),
      },
      (requests, controller) => sendRequests(client, requests, controller),
    );
    // Lost answers are looked up in Infobip's logs under the account's rules, like any request.
    const resolution = settings.resolution && {
      ...settings.resolution,
      timeoutMs: settings.client.timeoutMs,
      resolver: new Resolver({
        lookup: (ids) => pipeline.perform((controller) => client.fetchLogs(ids, controller)),
        ignored: (count) => this.warn(RED._('infobip-account.warn.logsIgnored', { count })),
        listenerFailed: (error) =>
          this.error(
            RED._('infobip-account.warn.listener', { detail: error instanceof Error ? error.message : String(error) }),
          ),
      }),
    };
    const contextStorage = (RED.settings as { contextStorage?: object }).contextStorage;
    const memory = contextStorage ? undefined : processMemory(this.id);
    // The daily count outlives deploys and restarts: in the Track store when it persists, else in a file.
    let daily: DailyLimit | undefined;
    if (settings.dailyLimit > 0 && settings.problems.length === 0) {
      const counts = storePersists(contextStorage, settings.trackStore)
        ? contextCounts(this.context(), settings.trackStore)
        : userDir
          ? fileCounts(path.join(userDir, '.infobip-binary-sms', `daily-${this.id}.json`))
          : processCounts(this.id);
      const own = new LocalDaily(settings.dailyLimit, counts, (detail) =>
        this.warn(RED._('infobip-account.warn.store', { detail })),
      );
      daily = shared ? new SharedDaily(shared, own, this.id) : own;
    }
    this.account = new Account({
      id: this.id,
      process: processWide,
      stats: counts,
      client,
      pipeline,
      configError: settings.problems[0]?.error,
      trackStore: settings.trackStore,
      shared,
      resolution,
      daily,
      limitReached: ({ used, limit }) => this.warn(RED._('infobip-account.warn.dailyLimit', { used, limit })),
      makeTracker: (by) => {
        const own = new Tracker(memory ?? this.context(), settings.trackStore, {
          limit: settings.trackLimit,
          owner,
          account: this.id,
          formerOwners: [legacyOwner(userDir)],
          by,
          warn: (detail) => this.warn(RED._('infobip-account.warn.store', { detail })),
          dropped: shared && SharedTracker.dropped(shared, by),
        });
        return shared ? new SharedTracker(shared, own, by) : own;
      },
    });

    const gauges = (): Gauges => {
      const { waiting, inFlight, pausedForMs, pauseStatus, closed } = pipeline.gauges;
      const problem = settings.problems[0]?.field;
      const pace = pipeline.pacePerSecond;
      let state: Gauges['state'] = waiting + inFlight > 0 ? 'sending' : 'idle';
      if (pausedForMs > 0) state = 'paused';
      if (problem) state = 'notSetUp';
      if (closed) state = 'closed';
      return {
        state,
        api: settings.client.api,
        ...(pausedForMs > 0 ? { pausedUntil: Date.now() + pausedForMs, pauseStatus } : {}),
        ...(problem ? { problem: label(problem) } : {}),
        waiting,
        inFlight,
        parallel: settings.pipeline.concurrency,
        rateLimit: settings.pipeline.ratePerSecond,
        ...(Number.isFinite(pace) ? { pace: Math.round(pace * 10) / 10 } : {}),
        tracked: this.account.byId?.size ?? 0,
        trackedNumbers: this.account.byNumber?.size ?? 0,
        trackLimit: settings.trackLimit,
        ...(daily ? { daily: { used: daily.used(), limit: daily.limit } } : {}),
        ...(shared
          ? {
              shared: {
                available: shared.available,
                self: shared.name,
                copies: shared.available ? shared.view.copies : [shared.name],
                polling: shared.available ? shared.view.polling : {},
              },
            }
          : {}),
      };
    };
    const inHub =
      stats &&
      hub.add(this.id, () => ({
        ...stats.picture(this.id, name || RED._('infobip-account.sidebar.unnamed'), gauges()),
        ...(name ? {} : { unnamed: true }),
      }));

    const removeLimits = shared ? undefined : processWide.budget.add(this.account, limits);

    this.on('close', (removed: boolean, done: () => void) => {
      removeLimits?.();
      if (removed) memory?.drop();
      this.account
        .close(CLOSE_GRACE_MS)
        .finally(() => {
          if (inHub) hub.remove(inHub);
          metrics?.forget(this.id, name);
        })
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
        redisUrl: { type: 'password' },
      },
      // Tells the editor (RED.settings) whether to show the Infobip tab. Node-RED exports a node
      // type's setting only under a name that starts with the type in camelCase, so not as
      // `infobipSidebar`, the name settings.js uses.
      settings: { infobipAccountSidebar: { value: sidebar, exportable: true } },
    },
  );
};
