import type { Node, NodeAPI } from 'node-red';
import type { AccountNode } from './lib/account/account';
import { type InboundSms, isResultsPage } from './lib/http/infobip';
import type { ReceiveError } from './lib/errors';
import { InboundMessages } from './lib/receive/inbound';
import { Receiver, ReceiverConfig } from './lib/receive/receiver';

interface InboundConfig extends ReceiverConfig {
  /** Minutes after a send within which a reply from its number carries it as msg.sent; 0 = off. */
  replyWindow?: string | number;
}

const DEFAULT_PATH = '/infobip/inbound';
const DEFAULT_REPLY_WINDOW_MINUTES = 60;

export = function register(RED: NodeAPI): void {
  function InfobipSmsInNode(this: Node<{ token?: string }>, config: InboundConfig): void {
    RED.nodes.createNode(this, config);
    const receiver = new Receiver(RED, this, 'infobip-sms-in');
    const accountNode = RED.nodes.getNode(config.account) as AccountNode | null;
    const problems: ReceiveError[] = [];
    const settings = receiver.readSettings(config, accountNode?.account, DEFAULT_PATH, problems);
    const replyWindowMs =
      receiver.number('replyWindow', config.replyWindow, DEFAULT_REPLY_WINDOW_MINUTES, problems) * 60_000;
    if (problems.length > 0 || !accountNode) {
      receiver.refuse(problems);
      return;
    }

    const account = accountNode.account;
    // With the reply window off, sends are not tracked for this node.
    const lastSent = replyWindowMs > 0 ? account.useTracking(this.id, 'number') : undefined;
    if (lastSent) receiver.onClose((removed) => account.releaseTracking(this.id, 'number', removed));
    const messages = new InboundMessages(
      lastSent,
      replyWindowMs,
      (msg) => {
        account.stats.add('replies');
        receiver.send(msg);
      },
      account.sightings('inbound'),
    );
    // Replies to another account node of the same Infobip account go to its inbound node.
    const emit = (items: object[]) => messages.emit(items as InboundSms[]);
    receiver.onClose(account.receive('inbound', this.id, emit));
    receiver.receive(settings, {
      fetch: (limit, controller) => account.fetchInbound(limit, controller),
      read: (body) => (isResultsPage<InboundSms>(body) ? body.results : undefined),
      expected: '{ "results": [ { "messageId": …, "from": …, "text": … }, … ] }',
      emit: (items) => account.route('inbound', items, emit),
      count: () => messages.count,
      ready: lastSent?.ready,
      turn: settings.mode === 'poll' ? account.pollTurn('inbound') : undefined,
    });
  }

  RED.nodes.registerType(
    'infobip-sms-in',
    InfobipSmsInNode as unknown as Parameters<typeof RED.nodes.registerType>[1],
    {
      credentials: { token: { type: 'password' } },
    },
  );
};
