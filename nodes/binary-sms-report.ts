import type { Node, NodeAPI } from 'node-red';
import type { AccountNode } from './lib/account/account';
import { type DeliveryReport, isResultsPage } from './lib/http/infobip';
import { ReceiveError, describe } from './lib/errors';
import { Receiver, ReceiverConfig } from './lib/receive/receiver';
import { type OverdueMessage, REPEAT_HOLD_MS, ReportMessages, watchOverdue } from './lib/receive/reports';
import { normaliseBaseUrl } from './lib/rules';

interface ReportConfig extends ReceiverConfig {
  overdue?: string | number;
  /** Long messages: one report per message once all parts have one (`whole`), or each part's (`each`, saved without it). */
  parts?: string;
  /** Webhook mode: the address at which Infobip reaches this Node-RED, e.g. https://nodered.example.com. */
  publicUrl?: string;
}

const DEFAULT_PATH = '/infobip/reports';
/** Infobip's status groups; anything else a body says is counted as OTHER (a pushed body is not trusted to bound the counts). */
const STATUS_GROUPS = new Set(['ACCEPTED', 'PENDING', 'UNDELIVERABLE', 'DELIVERED', 'EXPIRED', 'REJECTED']);
const statusGroup = (group: unknown) => (typeof group === 'string' && STATUS_GROUPS.has(group) ? group : 'OTHER');

export = function register(RED: NodeAPI): void {
  function BinarySmsReportNode(this: Node<{ token?: string }>, config: ReportConfig): void {
    RED.nodes.createNode(this, config);
    const receiver = new Receiver(RED, this, 'binary-sms-report');
    const accountNode = RED.nodes.getNode(config.account) as AccountNode | null;
    const problems: ReceiveError[] = [];
    const settings = receiver.readSettings(config, accountNode?.account, DEFAULT_PATH, problems);
    const overdueMs = receiver.number('overdue', config.overdue, 0, problems) * 60_000;
    const publicText = settings.mode === 'webhook' ? (config.publicUrl ?? '').trim() : '';
    const publicUrl = publicText ? normaliseBaseUrl(publicText) : undefined;
    if (publicText && !publicUrl) problems.push(new ReceiveError('publicUrl', { value: publicText }));
    if (problems.length > 0 || !accountNode) {
      receiver.refuse(problems);
      return;
    }

    const account = accountNode.account;
    const tracker = account.useTracking(this.id);
    receiver.onClose((removed) => account.releaseTracking(this.id, 'messageId', removed));
    const parts = config.parts === 'whole' ? 'whole' : 'each';
    const messages = new ReportMessages(
      tracker,
      (msg) => {
        if (msg.final) account.stats.add(msg.delivered ? 'delivered' : 'undelivered');
        account.stats.reported(statusGroup(msg.payload.status?.groupName));
        receiver.send([msg, null]);
      },
      account.api === 'v3',
      parts,
      undefined,
      account.sightings('reports'),
      overdueMs || REPEAT_HOLD_MS,
    );
    receiver.onClose(() => messages.stop());
    if (overdueMs > 0) {
      const warn = (error: unknown) => this.warn(describe(error));
      const sendOverdue = (msg: OverdueMessage) => {
        account.stats.add('overdue');
        receiver.send([null, msg]);
      };
      receiver.onClose(watchOverdue(tracker, overdueMs, sendOverdue, warn));
    }
    // Reports of messages another account node of the same Infobip account sent go to its report node.
    const emit = (reports: object[]) => messages.emit(reports as DeliveryReport[]);
    receiver.onClose(account.receive('reports', this.id, emit));
    const routed = receiver.receive(settings, {
      fetch: (limit, controller) => account.fetchReports(limit, controller),
      read: (body) => (isResultsPage<DeliveryReport>(body) ? body.results : undefined),
      expected: '{ "results": [ { "messageId": … }, … ] }',
      emit: (reports) => account.route('reports', reports, emit),
      count: () => messages.count,
      ready: tracker.ready,
      turn: settings.mode === 'poll' ? account.pollTurn('reports') : undefined,
    });

    if (settings.mode !== 'webhook' || !publicUrl) return;
    if (account.api !== 'v3') {
      this.warn(receiver.text(new ReceiveError('publicUrlV1')));
    } else if (routed) {
      // Every v3 message sent through the account asks Infobip to push its reports here: no portal step.
      const token = this.credentials?.token ?? '';
      const root = String((RED.settings as { httpNodeRoot?: string }).httpNodeRoot ?? '/').replace(/\/+$/, '');
      const query = token ? `?token=${encodeURIComponent(token)}` : '';
      account.offerReportUrl(this.id, publicUrl + root + settings.path + query, token);
      receiver.onClose(() => account.withdrawReportUrl(this.id));
    }
  }

  RED.nodes.registerType(
    'binary-sms-report',
    BinarySmsReportNode as unknown as Parameters<typeof RED.nodes.registerType>[1],
    {
      credentials: { token: { type: 'password' } },
    },
  );
};
