'use strict';
// The two APIs an account can send through, and how a test reads what was sent whichever carried it.

/** The APIs an account can send through; the contract suites run against each. */
const APIS = ['v1', 'v3'];
const SEND_PATHS = { v1: '/sms/1/binary/single', v3: '/sms/3/messages' };

/** What a recorded request asked Infobip to send, in v1's terms ({ from, to, binary }), whichever API carried it. */
function sentMessage(record) {
  const body = record.body;
  if (!Array.isArray(body?.messages)) return body;
  const [message] = body.messages;
  const sent = { to: message.destinations.map((destination) => destination.to), binary: message.content };
  if (message.sender !== undefined) sent.from = message.sender;
  return sent;
}
/** Every message a recorded request carried (a v3 request may carry many), each as sentMessage gives one. */
function sentMessages(record) {
  const body = record.body;
  if (!Array.isArray(body?.messages)) return [body];
  return body.messages.map((message) => sentMessage({ body: { messages: [message] } }));
}
/** How many messages the server received, whatever the number of requests. */
const messagesReceived = (server) => server.requests.reduce((sum, record) => sum + sentMessages(record).length, 0);

/** The destination an answer's entry is for (v1 `to`, v3 `destination`), and its SMS count. */
const numberIn = (entry) => entry.to ?? entry.destination;
const partsIn = (entry) => entry.smsCount ?? entry.details?.messageCount;

module.exports = { APIS, SEND_PATHS, sentMessage, sentMessages, messagesReceived, numberIn, partsIn };
