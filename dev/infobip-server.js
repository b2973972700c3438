'use strict';
// A local stand-in for Infobip's POST /sms/1/binary/single and POST /sms/3/messages: checks the credentials,
// validates the body as Infobip documents it, answers per destination, records what it received, makes
// delivery reports, receives inbound SMS from demo devices (pulled or pushed), and can be told to
// misbehave. Used by the tests, the benchmark and `npm start`.
const http = require('node:http');
const crypto = require('node:crypto');

const HEX = /^[0-9a-f]{2}( [0-9a-f]{2})*$/;
const DESTINATION = /^[1-9]\d{6,14}$/;
/** Destinations starting with this prefix are answered as REJECTED_DESTINATION. */
const REJECTED_PREFIX = '999';

/**
 * Test numbers whose delivery report is not DELIVERED_TO_HANDSET, by their last digit:
 * 41700000002 UNDELIVERABLE, …3 DELIVERED_TO_OPERATOR, …4 EXPIRED, …5 REJECTED.
 */
const REPORT_TEST_PREFIX = '41700000';
const REPORT_STATUSES = {
  delivered: {
    groupId: 3,
    groupName: 'DELIVERED',
    id: 5,
    name: 'DELIVERED_TO_HANDSET',
    description: 'Message delivered to handset',
  },
  2: {
    groupId: 2,
    groupName: 'UNDELIVERABLE',
    id: 9,
    name: 'UNDELIVERABLE_NOT_DELIVERED',
    description: 'Message sent not delivered',
  },
  3: {
    groupId: 3,
    groupName: 'DELIVERED',
    id: 2,
    name: 'DELIVERED_TO_OPERATOR',
    description: 'Message delivered to operator',
  },
  4: { groupId: 4, groupName: 'EXPIRED', id: 15, name: 'EXPIRED_EXPIRED', description: 'Message expired' },
  5: { groupId: 5, groupName: 'REJECTED', id: 6, name: 'REJECTED_NETWORK', description: 'Network is forbidden' },
};

/** The report of a repeat that idempotent sending rejected (Infobip documents none: the harshest guess). */
const REPEAT_REJECTED = {
  groupId: 5,
  groupName: 'REJECTED',
  id: 87,
  name: 'REJECTED_DUPLICATE_MESSAGE_ID',
  description: 'Message with this messageId was already accepted',
};

/** A v3 test number whose status changes after its first report: DELIVERED_TO_OPERATOR, then DELIVERED_TO_HANDSET. */
const TWICE_REPORTED = '41700000006';

/** Demo devices: a number ending in this answers `ACK <first byte in hex>` a second after a message is delivered to it. */
const REPLYING_SUFFIX = '88';
const REPLY_DELAY_MS = 1000;
/** The account's number that devices write to. */
const ACCOUNT_NUMBER = '447860099299';
/** Keywords set up on the account's number: Infobip then splits them from `cleanText`. */
const KEYWORDS = ['ACK'];

function reportStatus(to) {
  if (to.startsWith(REPORT_TEST_PREFIX) && to.length === 11 && REPORT_STATUSES[to.slice(-1)]) {
    return REPORT_STATUSES[to.slice(-1)];
  }
  return REPORT_STATUSES.delivered;
}

function status(groupId, groupName, id, name, description, action) {
  const entry = { groupId, groupName, id, name, description };
  if (action) entry.action = action;
  return entry;
}
const PENDING = status(1, 'PENDING', 26, 'PENDING_ACCEPTED', 'Message sent to next instance');
const REJECTED = status(5, 'REJECTED', 51, 'REJECTED_DESTINATION', 'Invalid destination address', 'Check to parameter');

function serviceError(messageId, text) {
  return { requestError: { serviceException: { messageId, text } } };
}

const BLIP_503 = { status: 503, raw: '<html><body>503 Service Unavailable</body></html>', contentType: 'text/html' };
/**
 * What an account shared with other systems, behind a flaky network, answers now and then, with
 * each answer's share of sends: 429s that other traffic caused, blips, resets, refusals, hangs,
 * answers that list only some destinations, and junk.
 */
const FAULT_MIX = [
  [0.03, BLIP_503],
  [
    0.02,
    { status: 429, headers: { 'retry-after': '1' }, body: { errorCode: 'E429', description: 'Too many requests' } },
  ],
  [0.01, { resetAfterBody: true }],
  [0.01, { status: 400, body: serviceError('BAD_REQUEST', 'Invalid destination address') }],
  [0.005, { hang: true }],
  [0.005, { partial: true }],
  [0.005, { status: 200, raw: 'not json at all', contentType: 'text/plain' }],
];

class InfobipTestServer {
  /**
   * @param {{apiKey?: string, username?: string, password?: string, delayMs?: number,
   *   ratePerSecond?: number, forgetIdleMs?: number, keepAliveHint?: number,
   *   reportDelayMs?: number, pushUrls?: string[]}} options
   * Reports: each accepted destination gets a delivery report `reportDelayMs` after the send
   * (default 1000), offered once at GET /sms/1/reports and pushed to each of `pushUrls` in
   * buckets of up to 100, a bucket that is not answered 2xx being pushed again later.
   * `ratePerSecond`: accept that many sends in any one second, answer 429 with `Retry-After: 1`
   * beyond, as an account's rate limit does. `rateWindow`: 'sliding' (the default, the harshest
   * plausible count: the sends accepted in the second before each arrival, so a burst at a second's
   * edge is refused) or 'fixed' (per wall-clock second, which lets up to twice the limit through
   * around an edge). `forgetIdleMs`: a request on a connection idle for
   * longer is never answered, like a NAT that forgot the connection. `faultRate`: answer that
   * share of sends 503 at random, without Retry-After. `keepAliveHint`: announce
   * `Keep-Alive: timeout=N` (seconds).
   */
  constructor(options = {}) {
    this.apiKey = options.apiKey ?? 'test-api-key-0123456789';
    this.username = options.username ?? 'demo';
    this.password = options.password ?? 'demo-password';
    this.delayMs = options.delayMs ?? 0;
    this.ratePerSecond = options.ratePerSecond ?? 0;
    this.rateWindow = options.rateWindow ?? 'sliding';
    this.forgetIdleMs = options.forgetIdleMs ?? 0;
    this.keepAliveHint = options.keepAliveHint;
    /** Answer an accepted send this much later than its reports are made (a webhook outrunning the answer). */
    this.lateAnswerMs = options.lateAnswerMs ?? 0;
    /** Share of sends answered 503 at random (0 to 1). */
    this.faultRate = options.faultRate ?? 0;
    /** Answer sends with FAULT_MIX's faults at random (see randomFault). */
    this.faultMix = options.faultMix ?? false;
    this.faults = 0;
    this.reportDelayMs = options.reportDelayMs ?? 1000;
    /**
     * How long after acceptance a message shows in GET /sms/3/logs (undocumented: seconds, sometimes
     * more); a function of the log entry gives each its own.
     */
    this.logDelayMs = options.logDelayMs ?? 1000;
    /**
     * Idempotent sending (enabled per account by Infobip): a repeat of a messageId accepted within
     * `graceMs` is answered as usual but never reaches the handset, and gets a REJECTED report
     * `repeatReportDelayMs` after it arrives (by default before the original's).
     */
    this.idempotent = options.idempotent ?? false;
    this.graceMs = options.graceMs ?? 3_600_000;
    this.repeatReportDelayMs = options.repeatReportDelayMs ?? 0;
    this.pushUrls = options.pushUrls ?? [];
    /** Where inbound SMS are pushed (the number's forwarding URL); without it they wait at GET /sms/1/inbox/reports. */
    this.inboundUrl = options.inboundUrl;
    /** Behaviours for the next GET /sms/1/inbox/reports, as `plannedReports`. */
    this.plannedInbox = [];
    this.pushRetryMs = 500;
    /** Behaviours for the next GET /sms/3/logs, consumed in order (as `plannedReports`). */
    this.plannedLogs = [];
    /** Behaviours for the next GET /sms/1/reports, consumed in order (as `plan`). */
    this.plannedReports = [];
    /** While set, reports are made but kept back until releaseReports(). */
    this.holdReports = false;
    this.held = [];
    this.timers = new Set();
    /** Behaviours for the next requests, consumed in order: see `plan`. */
    this.planned = [];
    this.reset();
    this.sockets = new Set();
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Forgets what was received. */
  reset() {
    /** @type {{headers: object, body: any, raw: string}[]} */
    this.requests = [];
    this.inFlight = 0;
    this.peakInFlight = 0;
    /** Requests on forgotten connections (never answered, never recorded). */
    this.lost = 0;
    /** Sends refused by the rate limit. */
    this.throttled = 0;
    this.window = { second: 0, count: 0 };
    /** Arrival times (ms) of the sends accepted in the last second, oldest first (sliding window). */
    this.arrivals = [];
    /** Reports ready to be pulled, oldest first. */
    this.reports = [];
    /** Every GET /sms/1/reports: { url, at, answered }. */
    this.reportPolls = [];
    /** Every push: { url, count, status }. */
    this.pushes = [];
    /** Inbound SMS ready to be pulled, oldest first. */
    this.inbound = [];
    /** Every inbound SMS made, pulled or pushed. */
    this.inboundMade = [];
    /** Every GET /sms/1/inbox/reports: { url, at, answered }. */
    this.inboxPolls = [];
    /** Concatenated messages as a handset reassembles them: see `reassemble`. */
    this.longMessages = [];
    this.assembling = new Map();
    /** Parts (by 1-based index, in every concatenated message) whose report is UNDELIVERABLE, or never made. */
    this.partFaults = new Map();
    /** Numbers whose messages are accepted but never reported (a handset that stays off). */
    this.silentNumbers = new Set();
    /** Every push is sent twice, as Infobip does when its first try was not answered in time. */
    this.pushTwice = false;
    /** Why each header a handset could not read was unreadable. */
    this.malformedHeaders = [];
    /** v3 messages Infobip accepted, by messageId: { log (as GET /sms/3/logs lists it), shownAt }. */
    this.logs = new Map();
    /** Every GET /sms/3/logs: { ids (asked for), at, answered, status }. */
    this.logLookups = [];
    /** v3 messages that reached a handset: { messageId, to } (an idempotent repeat does not). */
    this.handsets = [];
    /** Repeats that idempotent sending rejected: { messageId, to }. */
    this.repeats = [];
    /** Scheduled bulks by id: { bulkId, sendAt (ms), status, deliveries, timer }. */
    for (const bulk of this.bulks?.values() ?? []) clearTimeout(bulk.timer);
    this.bulks = new Map();
    /** Every call to /sms/1/bulks…: { method, path, bulkId, body }. */
    this.bulkCalls = [];
  }

  /**
   * Queues behaviours for the next requests, e.g.
   * `{ status: 429, headers: {'retry-after': '1'} }`, `{ status: 500, body: '<html>…' }`,
   * `{ resetAfterBody: true }`, `{ delayMs: 2000 }`, `{ raw: 'not json' }`. With `afterAccepting:
   * true` the send is accepted first (its messages go out and show in the logs) and then its answer
   * is lost: `hang`, `resetAfterBody`, or `status` (502, 504) instead of the answer.
   */
  plan(...behaviours) {
    this.planned.push(...behaviours);
  }

  async start(port = 0, host = '127.0.0.1') {
    this.stopped = false;
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, resolve);
    });
    const address = this.server.address();
    this.port = address.port;
    this.baseUrl = `http://${host}:${address.port}`;
    return this;
  }

  /** The sends Infobip accepted (answered 200). */
  accepted() {
    return this.requests.filter((record) => record.statusCode === 200 && !record.url.startsWith('/sms/1/bulks'));
  }

  async stop() {
    // A push still under way must not arm a retry once stopped: it would push on forever, in the
    // end to another test's server that got the port.
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Runs `fn` after `ms`, unless the server stops first. */
  later(ms, fn) {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  handle(req, res) {
    if (req.method === 'GET' && req.url.startsWith('/sms/3/logs')) {
      this.lookUp(req, res);
      return;
    }
    if (req.method === 'GET' && (req.url.startsWith('/sms/1/reports') || req.url.startsWith('/sms/3/reports'))) {
      this.pull(req, res, 'reports', this.plannedReports, this.reportPolls);
      return;
    }
    if (req.method === 'GET' && req.url.startsWith('/sms/1/inbox/reports')) {
      this.pull(req, res, 'inbound', this.plannedInbox, this.inboxPolls);
      return;
    }
    const socket = req.socket;
    if (this.forgetIdleMs > 0 && socket.idleSince !== undefined && Date.now() - socket.idleSince > this.forgetIdleMs) {
      this.lost++;
      return;
    }
    socket.idleSince = undefined;
    res.on('finish', () => (socket.idleSince = Date.now()));
    if (this.keepAliveHint !== undefined) res.setHeader('keep-alive', `timeout=${this.keepAliveHint}`);
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const record = {
        method: req.method,
        url: req.url,
        headers: req.headers,
        raw,
        body: undefined,
        receivedAt: Date.now(),
      };
      try {
        record.body = JSON.parse(raw);
      } catch {
        // recorded as raw only
      }
      this.requests.push(record);
      res.on('finish', () => (record.statusCode = res.statusCode));
      this.inFlight++;
      this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
      const behaviour = this.planned.shift() ?? this.rateLimited() ?? this.randomFault() ?? {};
      const finish = () => {
        this.inFlight--;
        this.respond(req, res, record, behaviour);
      };
      const delay = behaviour.delayMs ?? this.delayMs;
      if (delay > 0) setTimeout(finish, delay);
      else finish();
    });
  }

  respond(req, res, record, behaviour) {
    if (behaviour.afterAccepting) {
      const [statusCode, body] = this.answer(req, record);
      record.lostAnswer = { statusCode, body };
    }
    if (behaviour.hang) return;
    if (behaviour.resetAfterBody) {
      req.socket.destroy();
      return;
    }
    if (behaviour.status || behaviour.raw !== undefined) {
      const body = behaviour.raw ?? behaviour.body ?? '';
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(behaviour.status ?? 200, {
        'content-type': behaviour.contentType ?? 'application/json',
        ...behaviour.headers,
      });
      res.end(text);
      return;
    }
    const [statusCode, body] = this.answer(req, record);
    // An answer that lists all destinations but the last: those get no status.
    if (behaviour.partial && Array.isArray(body.messages)) body.messages.pop();
    const text = JSON.stringify(body);
    record.answer = JSON.parse(text);
    const write = () => {
      res.writeHead(statusCode, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    // The message is accepted (its reports are on their way) but the answer comes late.
    if (this.lateAnswerMs > 0) this.later(this.lateAnswerMs, write);
    else write();
  }

  /**
   * A 503 without Retry-After for a share `faultRate` of sends, as a load balancer's blip; with
   * `faultMix`, one of FAULT_MIX's answers for its share of sends instead.
   */
  randomFault() {
    if (this.faultMix) {
      let draw = Math.random();
      for (const [share, behaviour] of FAULT_MIX) {
        if (draw < share) {
          this.faults++;
          return behaviour;
        }
        draw -= share;
      }
      return undefined;
    }
    if (!(this.faultRate > 0) || Math.random() >= this.faultRate) return undefined;
    this.faults++;
    return BLIP_503;
  }

  /** The 429 of an account over its per-second limit, or undefined within it. */
  rateLimited() {
    if (this.ratePerSecond <= 0) return undefined;
    if (this.withinRate(Date.now())) return undefined;
    this.throttled++;
    return {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { errorCode: 'E429', description: 'Too many requests', action: 'Slow down' },
    };
  }

  /** Counts a send arriving at `now` against the rate limit; false when it is over. */
  withinRate(now) {
    if (this.rateWindow === 'fixed') {
      const second = Math.floor(now / 1000);
      if (this.window.second !== second) this.window = { second, count: 0 };
      return ++this.window.count <= this.ratePerSecond;
    }
    let expired = 0;
    while (expired < this.arrivals.length && this.arrivals[expired] <= now - 1000) expired++;
    if (expired > 0) this.arrivals.splice(0, expired);
    if (this.arrivals.length >= this.ratePerSecond) return false;
    this.arrivals.push(now);
    return true;
  }

  answer(req, record) {
    if (req.url.startsWith('/sms/1/bulks')) {
      if (!this.authorised(req.headers.authorization))
        return [401, serviceError('UNAUTHORIZED', 'Invalid login details')];
      return this.bulkRequest(req, undefined, record);
    }
    const v3 = req.method === 'POST' && req.url === '/sms/3/messages';
    if (!v3 && (req.method !== 'POST' || req.url !== '/sms/1/binary/single')) {
      return [404, serviceError('NOT_FOUND', `No endpoint ${req.method} ${req.url}`)];
    }
    if (!this.authorised(req.headers.authorization)) {
      return [401, serviceError('UNAUTHORIZED', 'Invalid login details')];
    }
    if (!/^application\/json/.test(req.headers['content-type'] ?? '')) {
      return [415, serviceError('BAD_REQUEST', 'Content-Type must be application/json')];
    }
    if (v3) return this.answerV3(record);
    const problem = validate(record.body);
    if (problem) return [400, serviceError('BAD_REQUEST', problem)];
    const destinations = typeof record.body.to === 'string' ? [record.body.to] : record.body.to;
    const smsCount = Math.max(1, Math.ceil(record.body.binary.hex.split(' ').length / 140));
    const messages = destinations.map((to) => ({
      to,
      status: to.startsWith(REJECTED_PREFIX) ? REJECTED : PENDING,
      smsCount,
      messageId: crypto.randomUUID(),
    }));
    const answer = destinations.length > 1 ? { bulkId: crypto.randomUUID(), messages } : { messages };
    this.later(this.reportDelayMs, () => this.reportOn(answer, record));
    return [200, answer];
  }

  /** POST /sms/3/messages: one entry per destination of every message, ids chosen by the sender honoured. */
  answerV3(record) {
    const violation = validateV3(record.body);
    if (violation) {
      return [
        400,
        {
          errorCode: 'E400',
          description: 'Request contains invalid data',
          action: 'Correct the request',
          violations: [violation],
        },
      ];
    }
    const bulkId = record.body.options?.schedule?.bulkId ?? crypto.randomUUID();
    const entries = [];
    const now = Date.now();
    for (const message of record.body.messages) {
      const messageCount = Math.max(1, Math.ceil(message.content.hex.split(' ').length / 140));
      const userData = readUserData(message.content);
      if (userData.malformed) this.malformedHeaders.push(userData.malformed);
      for (const destination of message.destinations) {
        const earlier = destination.messageId !== undefined ? this.logs.get(destination.messageId) : undefined;
        const repeat = this.idempotent && earlier !== undefined && now - earlier.acceptedAt <= this.graceMs;
        entries.push({
          userData,
          sender: message.sender,
          repeat,
          part: userData.concat,
          data: userData.data,
          messageId: destination.messageId ?? crypto.randomUUID(),
          status: destination.to.startsWith(REJECTED_PREFIX) ? REJECTED : PENDING,
          destination: destination.to,
          details: { messageCount },
          callbackData: message.webhooks?.callbackData,
          reportUrl: message.webhooks?.delivery?.url,
          hex: message.content.hex,
        });
      }
    }
    for (const entry of entries) {
      if (entry.repeat) this.repeats.push({ messageId: entry.messageId, to: entry.destination });
      if (entry.status.groupName !== 'PENDING' || entry.repeat) continue;
      const log = {
        bulkId,
        messageId: entry.messageId,
        destination: entry.destination,
        sentAt: new Date(record.receivedAt).toISOString().replace('Z', '+0000'),
        messageCount: entry.details.messageCount,
        status: PENDING,
        error: { groupId: 0, groupName: 'OK', id: 0, name: 'NO_ERROR', description: 'No Error', permanent: false },
        content: { hex: entry.hex },
      };
      const delay = typeof this.logDelayMs === 'function' ? this.logDelayMs(log) : this.logDelayMs;
      this.logs.set(entry.messageId, { log, acceptedAt: now, shownAt: now + delay });
    }
    // callbackData comes back in the reports, not in the answer.
    const answer = {
      bulkId,
      messages: entries.map(({ messageId, status, destination, details }) => ({
        messageId,
        status,
        destination,
        details,
      })),
    };
    // What reaches the handsets, and is reported: now, or at the bulk's sendAt.
    const deliver = () => {
      for (const entry of entries) {
        if (entry.status.groupName !== 'PENDING' || entry.repeat) continue;
        this.handsets.push({ messageId: entry.messageId, to: entry.destination });
        if (entry.userData.concat) this.reassemble(entry.destination, entry.sender, entry.userData, record);
      }
      this.later(this.reportDelayMs, () => this.reportOnV3(bulkId, entries, record));
    };
    const sendAt = parseInfobipDate(record.body.options?.schedule?.sendAt);
    if (sendAt !== undefined && sendAt > now) this.schedule(bulkId, sendAt, deliver);
    else deliver();
    const repeats = entries.filter((entry) => entry.repeat);
    if (repeats.length > 0) this.later(this.repeatReportDelayMs, () => this.reportOnV3(bulkId, repeats, record, true));
    return [200, answer];
  }

  /**
   * v3 reports: messageCount instead of smsCount, callbackData echoed; …6 reports twice (operator,
   * then handset). `repeated`: the entries are idempotent repeats, each reported REJECTED.
   */
  reportOnV3(bulkId, entries, record, repeated = false) {
    const report = (entry, status) => ({
      bulkId,
      messageId: entry.messageId,
      to: entry.destination,
      sentAt: new Date(record.receivedAt).toISOString().replace('Z', '+0000'),
      doneAt: new Date().toISOString().replace('Z', '+0000'),
      messageCount: entry.details.messageCount,
      mccMnc: '22801',
      ...(entry.callbackData !== undefined ? { callbackData: entry.callbackData } : {}),
      price: { pricePerMessage: 0.01, currency: 'EUR' },
      status,
      error: { groupId: 0, groupName: 'OK', id: 0, name: 'NO_ERROR', description: 'No Error', permanent: false },
    });
    const accepted = entries.filter((entry) => entry.status.groupName === 'PENDING' && !entry.repeat);
    // A message that names a report URL gets its reports pushed there; the others as the account is set up.
    const deliver = (pairs) => {
      for (const url of new Set(pairs.map(([entry]) => entry.reportUrl))) {
        const reports = pairs.filter(([entry]) => entry.reportUrl === url).map(([, made]) => made);
        if (url) this.push(url, reports);
        else if (this.holdReports) this.held.push(...reports);
        else this.deliverReports(reports);
      }
    };
    if (repeated) {
      deliver(entries.map((entry) => [entry, report(entry, REPEAT_REJECTED)]));
      return;
    }
    const fault = (entry) => entry.part && this.partFaults.get(entry.part.index);
    const first = accepted
      .filter((entry) => fault(entry) !== 'silent' && !this.silentNumbers.has(entry.destination))
      .map((entry) => [
        entry,
        report(
          entry,
          fault(entry) === 'undeliverable'
            ? REPORT_STATUSES[2]
            : entry.destination === TWICE_REPORTED
              ? REPORT_STATUSES[3]
              : reportStatus(entry.destination),
        ),
      ]);
    deliver(first);
    for (const [entry, made] of first) {
      const logged = this.logs.get(entry.messageId);
      if (logged) logged.log = { ...logged.log, status: made.status, doneAt: made.doneAt };
    }
    // A device answers a concatenated message once, with the first byte of its data.
    this.replyFromDevices(
      first
        .filter(([entry]) => !entry.part || entry.part.index === 1)
        .map(([entry, made]) => ({ to: entry.destination, hex: entry.data, status: made.status })),
    );
    const twice = accepted.filter((entry) => entry.destination === TWICE_REPORTED);
    if (twice.length > 0) {
      this.later(this.reportDelayMs, () =>
        deliver(twice.map((entry) => [entry, report(entry, REPORT_STATUSES.delivered)])),
      );
    }
  }

  /**
   * Collects the parts of concatenated messages by destination, sender, reference and count, as a
   * handset does; a complete one goes to `longMessages`: { to, reference, referenceBits, count,
   * elements (the other header elements, hex), data (hex), inOrder, requests (how many carried it) }.
   */
  reassemble(to, sender, { concat, elements, data }, record) {
    const key = [to, sender ?? '', concat.referenceBits, concat.reference, concat.count].join('|');
    const message = this.assembling.get(key) ?? {
      to,
      reference: concat.reference,
      referenceBits: concat.referenceBits,
      count: concat.count,
      elements,
      parts: [],
      inOrder: true,
      records: new Set(),
    };
    this.assembling.set(key, message);
    if (message.parts.length + 1 !== concat.index) message.inOrder = false;
    message.parts[concat.index - 1] = data;
    message.records.add(record);
    if (message.parts.filter((part) => part !== undefined).length < concat.count) return;
    this.assembling.delete(key);
    const { parts, records, ...rest } = message;
    this.longMessages.push({ ...rest, data: parts.join(' '), requests: records.size });
  }

  /** Makes the delivery reports of an accepted send, as Infobip would later. */
  reportOn(answer, record) {
    const made = answer.messages
      .filter((message) => message.status.groupName === 'PENDING' && !this.silentNumbers.has(message.to))
      .map((message) => ({
        ...(answer.bulkId ? { bulkId: answer.bulkId } : {}),
        messageId: message.messageId,
        to: message.to,
        sentAt: new Date(record.receivedAt).toISOString().replace('Z', '+0000'),
        doneAt: new Date().toISOString().replace('Z', '+0000'),
        smsCount: message.smsCount,
        mccMnc: '22801',
        price: { pricePerMessage: 0.01, currency: 'EUR' },
        status: reportStatus(message.to),
        error: { groupId: 0, groupName: 'OK', id: 0, name: 'NO_ERROR', description: 'No Error', permanent: false },
      }));
    if (this.holdReports) this.held.push(...made);
    else this.deliverReports(made);
    this.replyFromDevices(made.map(({ to, status }) => ({ to, hex: record.body.binary.hex, status })));
  }

  /** Offers reports for pull, or pushes them. */
  deliverReports(reports) {
    if (this.pushUrls.length > 0) {
      for (const url of this.pushUrls) this.push(url, reports);
    } else {
      this.reports.push(...reports);
    }
  }

  /** Lets go of the reports made while `holdReports` was set. */
  releaseReports() {
    this.holdReports = false;
    this.deliverReports(this.held.splice(0));
  }

  /** Pushes reports to a URL in buckets of up to 100; a bucket not answered 2xx is pushed again. */
  push(url, reports) {
    for (let start = 0; start < reports.length; start += 100) {
      const bucket = reports.slice(start, start + 100);
      const send = () => {
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ results: bucket }),
        })
          .then((response) => response.status)
          .catch(() => 0)
          .then((status) => {
            this.pushes.push({ url, count: bucket.length, status });
            if (status < 200 || status > 299) this.later(this.pushRetryMs, send);
          });
      };
      send();
      if (this.pushTwice) send();
    }
  }

  /**
   * An SMS from `from` to the account's number, as Infobip receives it: pushed to `inboundUrl`, or
   * kept for GET /sms/1/inbox/reports. Returns it.
   */
  receive(from, text, extra = {}) {
    const [first, ...rest] = text.split(' ');
    const keyword = KEYWORDS.includes(first.toUpperCase()) ? first.toUpperCase() : undefined;
    const sms = {
      messageId: crypto.randomUUID(),
      from,
      to: ACCOUNT_NUMBER,
      text,
      cleanText: keyword ? rest.join(' ') : text,
      ...(keyword ? { keyword } : {}),
      receivedAt: new Date().toISOString().replace('Z', '+0000'),
      smsCount: 1,
      price: { pricePerMessage: 0, currency: 'EUR' },
      callbackData: null,
      ...extra,
    };
    this.inboundMade.push(sms);
    if (this.inboundUrl) this.push(this.inboundUrl, [sms]);
    else this.inbound.push(sms);
    return sms;
  }

  /** Demo devices (numbers ending in 88) acknowledge a delivered message with its first byte. */
  replyFromDevices(deliveries) {
    for (const { to, hex, status: delivered } of deliveries) {
      if (!to.endsWith(REPLYING_SUFFIX) || delivered.groupName !== 'DELIVERED') continue;
      this.later(REPLY_DELAY_MS, () => this.receive(to, `ACK ${hex.slice(0, 2).toUpperCase()}`));
    }
  }

  /**
   * GET /sms/1/reports and GET /sms/1/inbox/reports: up to `limit` (≤ 1000) items of `queue`
   * (filtered by messageId or bulkId), each returned once.
   */
  pull(req, res, queue, planned, polls) {
    const poll = { url: req.url, at: Date.now(), answered: 0 };
    polls.push(poll);
    const reply = (status, body, headers = {}) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(text);
    };
    const behaviour = planned.shift();
    if (behaviour?.hang) return;
    if (behaviour?.resetAfterBody) {
      req.socket.destroy();
      return;
    }
    if (behaviour?.status) {
      reply(behaviour.status, behaviour.body ?? '', behaviour.headers);
      return;
    }
    // `delayMs`: answer normally, but late (the items on offer then are handed out).
    if (behaviour?.delayMs) this.later(behaviour.delayMs, () => this.offer(req, res, poll, queue));
    else this.offer(req, res, poll, queue);
  }

  offer(req, res, poll, queue) {
    const url = new URL(req.url, 'http://localhost');
    const reply = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!this.authorised(req.headers.authorization)) {
      reply(401, serviceError('UNAUTHORIZED', 'Invalid login details'));
      return;
    }
    const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      reply(400, serviceError('BAD_REQUEST', 'limit must be 1 to 1000'));
      return;
    }
    const messageId = url.searchParams.get('messageId');
    const bulkId = url.searchParams.get('bulkId');
    const results = [];
    this[queue] = this[queue].filter((report) => {
      const wanted =
        results.length < limit &&
        (!messageId || report.messageId === messageId) &&
        (!bulkId || report.bulkId === bulkId);
      if (wanted) results.push(report);
      return !wanted;
    });
    poll.answered = results.length;
    reply(200, { results });
  }

  /** A scheduled bulk: delivered at `sendAt` unless paused or cancelled by then (see bulks). */
  schedule(bulkId, sendAt, deliver) {
    const known = this.bulks.get(bulkId);
    // An id whose bulk went out or was cancelled starts a new bulk.
    const bulk =
      known && !['FINISHED', 'CANCELED'].includes(known.status) ? known : { bulkId, status: 'PENDING', deliveries: [] };
    bulk.sendAt = sendAt;
    bulk.deliveries.push(deliver);
    this.bulks.set(bulkId, bulk);
    this.arm(bulk);
  }

  /** Sets the bulk's timer for its sendAt; when it fires, a PENDING or resumed bulk goes out and is FINISHED. */
  arm(bulk) {
    clearTimeout(bulk.timer);
    this.timers.delete(bulk.timer);
    if (this.stopped) return;
    bulk.timer = setTimeout(
      () => {
        this.timers.delete(bulk.timer);
        if (bulk.status !== 'PENDING' && bulk.status !== 'PROCESSING') return;
        bulk.status = 'FINISHED';
        bulk.deliveries.splice(0).forEach((deliver) => deliver());
      },
      Math.max(0, bulk.sendAt - Date.now()),
    );
    this.timers.add(bulk.timer);
  }

  /**
   * GET/PUT /sms/1/bulks?bulkId= (its sendAt; reschedule) and GET/PUT /sms/1/bulks/status?bulkId=
   * (pause, resume, cancel): 404 for an unknown bulk, 400 for one that went out or was cancelled.
   */
  bulkRequest(req, res, record) {
    const url = new URL(req.url, 'http://localhost');
    const bulk = this.bulks.get(url.searchParams.get('bulkId') ?? '');
    const onStatus = url.pathname === '/sms/1/bulks/status';
    this.bulkCalls.push({
      method: req.method,
      path: url.pathname,
      bulkId: url.searchParams.get('bulkId'),
      body: record.body,
    });
    if (!bulk) return [404, serviceError('NOT_FOUND', 'Bulk not found')];
    const infobipDate = (ms) => new Date(ms).toISOString().replace('Z', '+0000');
    if (req.method === 'GET') {
      return [
        200,
        onStatus
          ? { bulkId: bulk.bulkId, status: bulk.status }
          : { bulkId: bulk.bulkId, sendAt: infobipDate(bulk.sendAt) },
      ];
    }
    if (bulk.status === 'FINISHED' || bulk.status === 'CANCELED') {
      return [400, serviceError('BAD_REQUEST', `Bulk is ${bulk.status.toLowerCase()} and cannot be changed`)];
    }
    if (!onStatus) {
      const sendAt = parseInfobipDate(record.body?.sendAt);
      if (sendAt === undefined) return [400, serviceError('BAD_REQUEST', 'sendAt is not a date-time')];
      bulk.sendAt = sendAt;
      if (bulk.status !== 'PAUSED') this.arm(bulk);
      return [200, { bulkId: bulk.bulkId, sendAt: infobipDate(bulk.sendAt) }];
    }
    const status = record.body?.status;
    if (!['PAUSED', 'PROCESSING', 'CANCELED'].includes(status)) {
      return [400, serviceError('BAD_REQUEST', 'status must be PAUSED, PROCESSING or CANCELED')];
    }
    bulk.status = status === 'PROCESSING' && bulk.sendAt > Date.now() ? 'PENDING' : status;
    if (status === 'PROCESSING') this.arm(bulk);
    if (status === 'CANCELED') clearTimeout(bulk.timer);
    return [200, { bulkId: bulk.bulkId, status: bulk.status }];
  }

  /**
   * GET /sms/3/logs?messageId=…&messageId=…: the logs of the accepted messages asked for that
   * already show (`logDelayMs` after acceptance), in no particular order; not consumed by reading.
   */
  lookUp(req, res) {
    const url = new URL(req.url, 'http://localhost');
    const ids = url.searchParams.getAll('messageId');
    const lookup = { ids, at: Date.now(), answered: 0, status: 200 };
    this.logLookups.push(lookup);
    const reply = (status, body, headers = {}) => {
      lookup.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const behaviour = this.plannedLogs.shift() ?? this.rateLimited();
    if (behaviour?.hang) return;
    if (behaviour?.status) {
      reply(behaviour.status, behaviour.raw ?? behaviour.body ?? '', behaviour.headers);
      return;
    }
    if (!this.authorised(req.headers.authorization)) {
      reply(401, { errorCode: 'E401', description: 'Invalid login details' });
      return;
    }
    const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      reply(400, { errorCode: 'E400', description: 'limit must be 1 to 1000' });
      return;
    }
    const now = Date.now();
    const results = ids
      .map((id) => this.logs.get(id))
      .filter((logged) => logged && logged.shownAt <= now)
      .map((logged) => logged.log)
      .slice(0, limit)
      .reverse();
    lookup.answered = results.length;
    reply(200, behaviour?.body ?? { results });
  }

  authorised(header) {
    if (header === `App ${this.apiKey}`) return true;
    const basic = 'Basic ' + Buffer.from(`${this.username}:${this.password}`).toString('base64');
    return header === basic;
  }
}

/**
 * A message's user data as a handset reads it: with UDHI (esmClass 64) a header of elements,
 * its concatenation element (8- or 16-bit reference) apart. A part longer than one SMS is a
 * `problem` (refused); a header a handset cannot read is `malformed` (sent on, as Infobip would).
 */
function readUserData(content) {
  const bytes = content.hex.split(' ').map((pair) => parseInt(pair, 16));
  if (((content.esmClass ?? 0) & 64) === 0) return { data: content.hex };
  const malformed = (reason) => ({ malformed: reason, data: content.hex });
  const end = 1 + bytes[0];
  if (end > bytes.length) return malformed(`header length ${bytes[0]} exceeds the user data`);
  const elements = [];
  let concat;
  for (let at = 1; at < end;) {
    const [id, length] = [bytes[at], bytes[at + 1]];
    if (length === undefined || at + 2 + length > end) return malformed(`element at octet ${at} exceeds the header`);
    const body = bytes.slice(at + 2, at + 2 + length);
    if ((id === 0 && length === 3) || (id === 8 && length === 4)) {
      if (concat) return malformed('two concatenation elements');
      const wide = id === 8;
      const [reference, count, index] = wide ? [body[0] * 256 + body[1], body[2], body[3]] : body;
      if (count < 1 || index < 1 || index > count) return malformed(`concatenation part ${index} of ${count}`);
      concat = { reference, referenceBits: wide ? 16 : 8, count, index };
    } else {
      elements.push(
        bytes
          .slice(at, at + 2 + length)
          .map(hexOf)
          .join(' '),
      );
    }
    at += 2 + length;
  }
  // A part of a concatenated message must fit one SMS; anything else long is Infobip's to split.
  if (concat && bytes.length > 140) {
    return { problem: `part ${concat.index} has ${bytes.length} octets of user data: one SMS carries 140` };
  }
  return { concat, elements, data: bytes.slice(end).map(hexOf).join(' ') };
}

const hexOf = (byte) => byte.toString(16).padStart(2, '0');

/** A v3 body's first problem as Infobip names it ({ property, violation }), or undefined. */
function validateV3(body) {
  const bad = (property, violation) => ({ property, violation });
  if (typeof body !== 'object' || body === null || !Array.isArray(body.messages) || body.messages.length === 0) {
    return bad('messages', 'must not be empty');
  }
  for (const [i, message] of body.messages.entries()) {
    const at = `messages[${i}]`;
    if (!Array.isArray(message.destinations) || message.destinations.length === 0) {
      return bad(`${at}.destinations`, 'must not be empty');
    }
    for (const [j, destination] of message.destinations.entries()) {
      if (typeof destination.to !== 'string' || !DESTINATION.test(destination.to)) {
        return bad(`${at}.destinations[${j}].to`, 'is not a valid phone number');
      }
      const id = destination.messageId;
      if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > 200)) {
        return bad(`${at}.destinations[${j}].messageId`, 'size must be between 1 and 200');
      }
    }
    if (
      message.sender !== undefined &&
      (typeof message.sender !== 'string' || !/^(\d{3,14}|[A-Za-z0-9 ._&-]{3,11})$/.test(message.sender))
    ) {
      return bad(`${at}.sender`, 'is not a valid sender');
    }
    const content = message.content;
    if (typeof content !== 'object' || content === null || typeof content.hex !== 'string' || !HEX.test(content.hex)) {
      return bad(`${at}.content.hex`, 'must be space-separated hex pairs');
    }
    for (const field of ['dataCoding', 'esmClass']) {
      const value = content[field];
      if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= 255)) {
        return bad(`${at}.content.${field}`, 'must be an integer 0-255');
      }
    }
    const userData = readUserData(content);
    if (userData.problem) return bad(`${at}.content.hex`, userData.problem);
    const validity = message.options?.validityPeriod;
    if (
      validity !== undefined &&
      !(validity.amount > 0 && ['SECONDS', 'MINUTES', 'HOURS'].includes(validity.timeUnit ?? 'MINUTES'))
    ) {
      return bad(`${at}.options.validityPeriod`, 'is not a valid period');
    }
    const callbackData = message.webhooks?.callbackData;
    if (callbackData !== undefined && (typeof callbackData !== 'string' || callbackData.length > 4000)) {
      return bad(`${at}.webhooks.callbackData`, 'size must be at most 4000');
    }
  }
  const sendAt = body.options?.schedule?.sendAt;
  if (
    sendAt !== undefined &&
    (typeof sendAt !== 'string' || Number.isNaN(Date.parse(sendAt.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'))))
  ) {
    return bad('options.schedule.sendAt', 'is not a date-time');
  }
  return undefined;
}

/** Epoch ms of a date-time as Infobip writes it (2026-12-01T08:00:00.000+0000), or undefined. */
function parseInfobipDate(value) {
  if (typeof value !== 'string') return undefined;
  const time = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isFinite(time) ? time : undefined;
}

function validate(body) {
  if (typeof body !== 'object' || body === null) return 'Body is not a JSON object';
  const to = typeof body.to === 'string' ? [body.to] : body.to;
  if (!Array.isArray(to) || to.length === 0) return 'Field "to" is missing';
  const bad = to.find((number) => typeof number !== 'string' || !DESTINATION.test(number));
  if (bad !== undefined) return `Invalid destination address: ${bad}`;
  if (
    body.from !== undefined &&
    (typeof body.from !== 'string' || !/^(\d{3,14}|[A-Za-z0-9 ._&-]{3,11})$/.test(body.from))
  ) {
    return `Invalid sender: ${body.from}`;
  }
  const binary = body.binary;
  if (typeof binary !== 'object' || binary === null) return 'Field "binary" is missing';
  if (typeof binary.hex !== 'string' || !HEX.test(binary.hex))
    return 'Field "binary.hex" is not space-separated hex pairs';
  for (const field of ['dataCoding', 'esmClass']) {
    const value = binary[field];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value <= 255)) {
      return `Field "binary.${field}" must be an integer 0-255`;
    }
  }
  return undefined;
}

module.exports = { InfobipTestServer, REJECTED_PREFIX, REPORT_TEST_PREFIX, TWICE_REPORTED };

if (require.main === module) {
  const port = Number(process.env.PORT ?? 8181);
  new InfobipTestServer().start(port).then((server) => {
    console.log(`Infobip test server on ${server.baseUrl} (API key "${server.apiKey}")`);
  });
}
