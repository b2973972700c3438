'use strict';
// The numbers that the local demo (npm start) and the tests put into the example flows, which ship
// with To empty so that an imported example never texts a stranger: the stand-in's test numbers
// (41700000002 ends UNDELIVERABLE, a number starting 999 is REJECTED, one ending in 88 is a demo
// device that answers).
const DEMO_DESTINATIONS = {
  e1s0000000000001: '41793026727, 41793026834',
  e2s0000000000001: '41793026727, 447911123456, 99912345678',
  e4s0000000000001: '41793026727, 41793026834, 41700000002',
  e5s0000000000001: '41793026727',
  e6s0000000000001: '41793026788',
  e7s0000000000001: '41793026727',
  e8s0000000000001: '41793026727',
};
/** A number for example 3's curl line. */
const DEMO_NUMBER = '41793026727';

/** The flow with each example binary-sms node's To set to its demo numbers. */
const withDemoDestinations = (flow) =>
  flow.map((node) =>
    node.type === 'binary-sms' && DEMO_DESTINATIONS[node.id] ? { ...node, to: DEMO_DESTINATIONS[node.id] } : node,
  );

/** Example 3's curl line with the demo's address and number in place of its placeholders. */
const demoCurl = (command, nodeRedUrl) =>
  command.replace('http://NODE-RED', nodeRedUrl).replace('DEVICE-NUMBER', DEMO_NUMBER);

module.exports = { DEMO_DESTINATIONS, DEMO_NUMBER, withDemoDestinations, demoCurl };
