import crypto from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { AccountNode } from './lib/account/account';
import type { SendResult } from './lib/http/infobip';
import { SendFailure, SmsError, describe, preview } from './lib/errors';
import { type OutputMessage, rejectedByInfobip, responseToMessages } from './lib/send/outputs';
import { LostAnswer, type ResolvedBy, type StillUnknown, isAmbiguous } from './lib/send/lost';
import { SendTracking } from './lib/track/policy';
import type { JobHandle, JobHooks } from './lib/send/job';
import {
  type BulkControl,
  NodeSettings,
  SendRequest,
  buildControl,
  buildRequest,
  checkNodeSettings,
  infobipTime,
  payloadBytes,
  smsPartsOf,
} from './lib/send/request';
import type { DailyAnswer } from './lib/daily';
import { NodeStatus, ThrottledStatus, showAfterStart } from './lib/status';
import { SMS_OCTETS } from './lib/send/udh';
import { CLOSE_GRACE_MS } from './lib/limits';

type Send = (msg: NodeMessage) => void;
type Done = (err?: Error) => void;

interface BinarySmsConfig extends NodeDef, NodeSettings {
  account: string;
}

/** SMS parts of the outputs Infobip accepted: every part of a split payload; otherwise Infobip's count. */
function partsSent(request: SendRequest, messages: OutputMessage[]): number {
  let parts = 0;
  for (const message of messages) {
    if (rejectedByInfobip(message)) continue;
    // v3 answers say details.messageCount, v1 smsCount, a log entry messageCount.
    const entry = message.payload as {
      details?: { messageCount?: unknown };
      smsCount?: unknown;
      messageCount?: unknown;
    };
    const counted = Number(entry.details?.messageCount ?? entry.smsCount ?? entry.messageCount);
    parts += request.parts?.length ?? (Number.isInteger(counted) && counted > 0 ? counted : 1);
  }
  return parts;
}

export = function register(RED: NodeAPI): void {
  function BinarySmsNode(this: Node, config: BinarySmsConfig): void {
    RED.nodes.createNode(this, config);
    const account = (RED.nodes.getNode(config.account) as AccountNode | null)?.account;
    const settings: NodeSettings = config;
    const jobs = new Set<JobHandle>();
    /** Messages whose answer was lost, being looked up in Infobip's logs (or sent once more). */
    const resolving = new Set<LostAnswer>();
    /** Set once the node closes: a lost answer then ends "delivery unknown" at once. */
    let stopping = false;
    /** Messages asking the daily limit for room: closing waits for them (they end "closed"). */
    const admissions = new Set<Promise<void>>();
    /** Control messages under way: closing waits for them, at most the grace period. */
    const controls = new Set<Promise<void>>();
    const status = new ThrottledStatus((shown: NodeStatus) => {
      this.status(shown);
    });
    let sent = 0;
    /** Of those, messages sent as concatenated parts. */
    let sentSplit = 0;

    const translate = (error: unknown): Error => {
      if (!(error instanceof SmsError)) return error instanceof Error ? error : new Error(String(error));
      // Each variant is a whole sentence in the catalog: <key>Node names a node setting,
      // <key>Retried says how many attempts were made.
      const params: Record<string, string | number> = { ...error.params };
      let key: string = error.key;
      if (typeof params.field === 'string' && params.field.startsWith('node.')) {
        key += 'Node';
        params.name = params.field.slice(5);
      }
      if (typeof params.attempts === 'number' && params.attempts > 1) key += 'Retried';
      // Node-RED 4 and later hand `code` to a Catch node as msg.error.code.
      return Object.assign(new Error(RED._(`binary-sms.errors.${key}`, params)), { code: error.statusReason });
    };

    /** Bytes of the last payload sent, when it needed more than one SMS. */
    let lastLongPayload = 0;
    const showProgress = () => {
      if (account?.limitHolds && account.daily && jobs.size === 0) {
        const { limit } = account.daily;
        status.show('yellow', 'ring', () => RED._('binary-sms.status.limited', { used: account.daily!.used(), limit }));
      } else if (account?.sharedUnavailable) {
        const key = jobs.size > 0 ? 'sendingSharedDown' : 'sharedDown';
        status.show('yellow', 'ring', () => RED._(`binary-sms.status.${key}`, { count: jobs.size || sent }));
      } else if (jobs.size > 0) {
        status.show('blue', 'dot', () => RED._('binary-sms.status.sending', { count: jobs.size }));
      } else if (resolving.size > 0) {
        let count = 0;
        for (const lost of resolving) count += lost.waiting;
        status.show('blue', 'ring', () => RED._('binary-sms.status.resolving', { count }));
      } else if (lastLongPayload > 0) {
        status.show('green', 'dot', () => RED._('binary-sms.status.sentLong', { count: sent, bytes: lastLongPayload }));
      } else if (sentSplit > 0) {
        status.show('green', 'dot', () =>
          RED._('binary-sms.status.sentParts', { count: sent, long: sentSplit, single: sent - sentSplit }),
        );
      } else {
        status.show('green', 'dot', () => RED._('binary-sms.status.sent', { count: sent }));
      }
    };

    /**
     * Ends a message in its one error. `request` is there once it was built: when its delivery is
     * unknown and the node chose the ids (v3), `msg.messageIds` names them (destination → id) so a
     * report node can resolve it later, and an inbound node can tie a reply to it; when it provably
     * was not sent, its tracking is dropped.
     */
    const fail = (
      msg: NodeMessageInFlow,
      error: unknown,
      done: (err?: Error) => void,
      request?: SendRequest,
      unknownFor: readonly string[] = request?.to ?? [],
    ) => {
      const statusCode = error instanceof SmsError ? error.statusCode : undefined;
      if (statusCode !== undefined) (msg as { statusCode?: number }).statusCode = statusCode;
      const reason = error instanceof SmsError ? error.statusReason : 'input';
      account?.stats.failed(reason, error instanceof SmsError ? error.key : undefined);
      if (request?.messageIds) {
        // An unreadable answer to a request that went out is as unknown as no answer.
        if (reason === 'unknown' || reason === 'badResponse') {
          (msg as { messageIds?: unknown }).messageIds = tracking.unknown(msg, request, unknownFor);
        } else {
          tracking.notSent(request);
        }
      }
      if (reason === 'limit') {
        // Yellow while the limit holds messages back, not red: the account works.
        showProgress();
      } else if (reason === 'http') {
        status.show('red', 'ring', () => RED._('binary-sms.status.failed.http', { status: statusCode ?? '' }));
      } else {
        // Translated here, so that a Status node gets words, as the editor shows them.
        status.show('red', 'ring', () => RED._(`binary-sms.status.failed.${reason}`));
      }
      done(translate(error));
    };

    const tracking = new SendTracking(() => account ?? {});

    const hooks: JobHooks = {
      onRetryWait: (delayMs) =>
        status.show('yellow', 'ring', () =>
          RED._('binary-sms.status.retrying', { seconds: Math.ceil(delayMs / 1000) }),
        ),
      // v3: the ids are the node's, made when the message goes out (a waiting message holds none),
      // and remembered before the request is written, so that an early report finds its message.
      beforeSend: (request) => {
        if (!request.source || !account) return;
        request.messageIds = request.to.map(() => crypto.randomUUID());
        request.reportUrl = account.reportUrl;
        tracking.beforeSend(request.source, request);
      },
    };

    const settingProblems = checkNodeSettings(settings, account?.api).map((problem) => translate(problem).message);
    let stopStartupStatus = () => {};
    if (!account || account.configError) {
      stopStartupStatus = showAfterStart(RED.events, () =>
        status.show('red', 'ring', () => RED._('binary-sms.status.failed.account')),
      );
    } else if (settingProblems.length > 0) {
      stopStartupStatus = showAfterStart(RED.events, () => status.show('red', 'ring', () => settingProblems[0]));
    }
    if (settingProblems.length > 0) this.warn(settingProblems.join('\n'));

    /**
     * Emits one message per destination of `destinations` that `result` lists (`by`: found after
     * its answer was lost); returns those it does not list. The input itself is the last output
     * only when nothing is left to say about it.
     */
    const emit = (
      msg: NodeMessageInFlow,
      request: SendRequest,
      destinations: readonly string[],
      result: SendResult,
      send: Send,
      ids = request.messageIds,
      by?: ResolvedBy,
    ): string[] => {
      const input = by ? RED.util.cloneMessage(msg) : msg;
      const { messages, missing, unexpected } = responseToMessages(
        input,
        destinations,
        result,
        RED.util.generateId(),
        (message) => RED.util.cloneMessage(message),
        ids,
        request.parts?.length,
      );
      if (unexpected.length > 0) {
        this.warn(
          RED._('binary-sms.warn.unexpected', { count: unexpected.length, numbers: preview(unexpected.join(', ')) }),
        );
      }
      sent += messages.length;
      // The sidebar counts a destination Infobip refused on submission as rejected, not as sent.
      const rejected = messages.filter(rejectedByInfobip).length;
      account?.stats.add('sent', messages.length - rejected);
      account?.stats.add('rejected', rejected);
      account?.stats.add('parts', partsSent(request, messages));
      if (by) account?.stats.add(by === 'logs' ? 'resolvedLogs' : 'resolvedResend', messages.length);
      if (request.parts) {
        sentSplit += messages.length;
        account?.stats.add('sentLong', messages.length - rejected);
      }
      // Sent as it is (Long payloads: As is): Infobip decides how it reaches the device.
      const bytes = payloadBytes(request);
      lastLongPayload = !request.parts && bytes > SMS_OCTETS ? bytes : 0;
      tracking.answered(request, messages);
      // One send() per message: Node-RED then clones none of them (each is already a copy).
      for (const message of messages) {
        if (by) message.resolvedBy = by;
        send(message);
      }
      return missing;
    };

    /** Emits one message per destination Infobip listed; those it did not are looked up, or end in an error. */
    const deliver = (msg: NodeMessageInFlow, request: SendRequest, result: SendResult, send: Send, done: Done) => {
      const missing = emit(msg, request, request.to, result, send);
      if (missing.length === 0) {
        done();
        showProgress();
        return;
      }
      const error = new SmsError(
        'missingStatus',
        { count: missing.length, numbers: preview(missing.join(', ')) },
        result.statusCode,
      );
      if (!resolve(msg, request, missing, error, send, done)) {
        (msg as { to?: unknown }).to = missing;
        fail(msg, error, done, request, missing);
      }
    };

    /** The error of destinations that stay unknown once their lost answer was looked into. */
    const stillUnknown = (unknown: StillUnknown): SmsError => {
      const cause = translate(unknown.cause).message;
      const statusCode = unknown.cause instanceof SmsError ? unknown.cause.statusCode : undefined;
      const { seconds } = unknown;
      if (unknown.stopped) return new SmsError('resolutionStopped', { cause }, statusCode);
      if (unknown.logsFailure !== undefined) {
        const failure = unknown.logsFailure;
        const detail = failure instanceof SendFailure ? describe(failure) : translate(failure).message;
        return new SmsError('logsUnreadable', { cause, detail }, statusCode);
      }
      if (unknown.tooLate) return new SmsError('notInLogsTooLate', { cause, seconds }, statusCode);
      return new SmsError(unknown.resent ? 'notInLogsAfterResend' : 'notInLogs', { cause, seconds }, statusCode);
    };

    /**
     * When the account resolves lost answers (v3), looks `destinations` up in Infobip's logs (and,
     * with idempotency, sends what they never showed once more) instead of ending them "delivery
     * unknown" now. Returns false when it does not.
     */
    const resolve = (
      msg: NodeMessageInFlow,
      request: SendRequest,
      destinations: string[],
      cause: unknown,
      send: Send,
      done: Done,
    ): boolean => {
      const resolution = account?.resolution;
      if (!account || !resolution || !request.messageIds || !isAmbiguous(cause) || stopping) return false;
      // The hooks below may run before the constructor returns.
      let lost: LostAnswer | undefined = undefined;
      lost = new LostAnswer(request, destinations, cause, resolution, {
        found: (complete, result, ids, by) => {
          emit(msg, request, complete, result, send, ids, by);
          showProgress();
        },
        resend: (again, ids, listener) => {
          tracking.resent(ids);
          let job: JobHandle | undefined = undefined;
          job = account.submit(again, hooks, (error, result) => {
            if (job) jobs.delete(job);
            listener(error, result);
          });
          if (!job.settled) jobs.add(job);
          showProgress();
          return job;
        },
        end: (unknown) => {
          if (lost) resolving.delete(lost);
          if (!unknown) {
            done();
            showProgress();
            return;
          }
          account?.stats.add('unresolved', unknown.destinations.length);
          (msg as { to?: unknown }).to = unknown.destinations;
          if (unknown.missingParts) (msg as { missingParts?: unknown }).missingParts = unknown.missingParts;
          fail(msg, stillUnknown(unknown), done, request, unknown.destinations);
        },
      });
      // It may have ended at once (the account closed meanwhile).
      if (!lost.done) resolving.add(lost);
      showProgress();
      return true;
    };

    /**
     * A control message (msg.schedule): asks Infobip about a scheduled bulk or changes it, and
     * emits its answer; tracking follows (a cancelled bulk is forgotten, a moved one is due later).
     */
    const control = (msg: NodeMessageInFlow, send: Send, done: Done) => {
      let asked: BulkControl;
      try {
        asked = buildControl(msg, account!.api);
      } catch (error) {
        fail(msg, error, done);
        return;
      }
      const controlling = account!
        .manageBulk(asked)
        .then(async (answer) => {
          const out = msg as NodeMessageInFlow & { bulkId?: string; messageIds?: unknown };
          if (asked.action === 'cancel') out.messageIds = await tracking.cancelled(asked.bulkId);
          if (asked.action === 'pause') await tracking.rescheduled(asked.bulkId, { paused: true });
          if (asked.action === 'resume') await tracking.rescheduled(asked.bulkId, { paused: false });
          if (asked.action === 'reschedule') {
            const at = infobipTime(String(answer.sendAt ?? asked.sendAt));
            await tracking.rescheduled(asked.bulkId, { scheduledAt: Number.isFinite(at) ? at : Date.now() });
          }
          out.payload = answer;
          out.bulkId = asked.bulkId;
          return out;
        })
        .then(
          (out) => {
            if (!stopping)
              status.show('green', 'dot', () =>
                RED._('binary-sms.status.bulk', {
                  status: String((out.payload as { status?: string; sendAt?: string }).status ?? asked.sendAt ?? ''),
                }),
              );
            send(out);
            done();
          },
          (error: unknown) => fail(msg, error, done),
        );
      controls.add(controlling);
      void controlling.finally(() => controls.delete(controlling));
    };

    this.on('input', (msg, send, done) => {
      if (!account) {
        fail(msg, new SmsError('noAccount'), done);
        return;
      }
      const schedule = (msg as { schedule?: unknown }).schedule;
      if (schedule !== undefined && schedule !== null) {
        control(msg, send, done);
        return;
      }
      let request: SendRequest;
      try {
        request = buildRequest(msg, settings, account.api, Date.now(), account.nextReference);
      } catch (error) {
        fail(msg, error, done);
        return;
      }
      if (account.api === 'v3') request.source = msg;
      // A scheduled input is a bulk of its own (unless it names one): it can be cancelled or moved alone.
      if (request.options?.sendAt !== undefined && request.bulkId === undefined) request.bulkId = crypto.randomUUID();
      if (!account.daily) {
        submit(msg, request, send, done);
        return;
      }
      const parts = smsPartsOf(request);
      const admitting = account.admit(parts).then(
        (answer) => {
          if (stopping) {
            // Closed while asking: nothing goes out, and its parts are given back.
            if (answer?.minute !== undefined) account.daily?.giveBack(answer.minute, parts, answer.shared);
            fail(msg, new SmsError('closed'), done);
          } else if (answer?.admitted === false) fail(msg, limitError(answer, parts), done);
          else submit(msg, request, send, done, answer);
        },
        (error: unknown) => fail(msg, error, done),
      );
      admissions.add(admitting);
      void admitting.finally(() => admissions.delete(admitting));
    });

    /** The daily limit's refusal: the limit, what is used, and when room frees up. */
    const limitError = ({ limit, used, freesAt }: DailyAnswer, parts: number): SmsError => {
      if (freesAt === undefined) return new SmsError('dailyLimitTooBig', { limit, parts });
      const minutes = Math.max(1, Math.ceil((freesAt - Date.now()) / 60_000));
      const wait = minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
      const at = new Date(freesAt).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
      return new SmsError('dailyLimit', { limit, used, parts, at, wait });
    };

    const submit = (msg: NodeMessageInFlow, request: SendRequest, send: Send, done: Done, admitted?: DailyAnswer) => {
      // The listener may run before submit returns (queue full, closed): then the job is never tracked.
      let job: JobHandle | undefined = undefined;
      job = account!.submit(request, hooks, (error, result) => {
        if (job) jobs.delete(job);
        if (error || !result) {
          // What provably went nothing gives its parts back to the daily limit.
          if (admitted?.minute !== undefined && error instanceof SmsError && !isAmbiguous(error)) {
            account!.daily?.giveBack(admitted.minute, smsPartsOf(request), admitted.shared);
          }
          if (!resolve(msg, request, request.to, error, send, done)) fail(msg, error, done, request);
          return;
        }
        try {
          deliver(msg, request, result, send, done);
        } catch (failure) {
          fail(msg, failure, done, request);
        }
      });
      if (!job.settled) {
        jobs.add(job);
        showProgress();
      }
    };

    const stopWatchingSharing = account?.onSharingChanged(showProgress);

    this.on('close', (_removed: boolean, done: () => void) => {
      stopping = true;
      // What is still being looked up ends "delivery unknown" now: exactly one outcome each.
      for (const lost of [...resolving]) lost.stop(new SmsError('closed'));
      stopStartupStatus();
      stopWatchingSharing?.();
      let grace: NodeJS.Timeout | undefined;
      const controlsDone =
        controls.size === 0
          ? undefined
          : Promise.race([
              Promise.all(controls),
              new Promise<void>((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS))),
            ]).finally(() => clearTimeout(grace));
      const closing = Promise.all([admissions.size ? Promise.all(admissions) : undefined, controlsDone]).then(() =>
        account ? account.closeJobs(jobs) : undefined,
      );
      closing.finally(() => status.clear()).then(done, done);
    });
  }

  RED.nodes.registerType('binary-sms', BinarySmsNode);
};
