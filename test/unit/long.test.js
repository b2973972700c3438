'use strict';
// Payloads beyond one plain SMS: splitting, headers, ports and message class, byte by byte
// (3GPP TS 23.040 §9.2.3.24, TS 23.038), and the v3 bodies they become, checked against
// Infobip's published request schema.
require('should');
const Ajv = require('ajv');
const { buildRequest, requestBody, checkNodeSettings, partIdOf } = require('../../dist/lib/send/request');
const { responseToMessages, splitAnswer } = require('../../dist/lib/send/outputs');

const ajv = new Ajv({ strict: false });
ajv.addFormat('int32', true);
ajv.addFormat('date-time', true);
const validBody = ajv.compile(require('../fixtures/sms-v3-request.schema.json'));

const SPLIT = { to: '41793026727', longPayload: 'split', dataCoding: '4', esmClass: '0' };
const bytesOf = (hex) => hex.split(' ').map((pair) => parseInt(pair, 16));
const data = (length, from = 0) => Buffer.from(Array.from({ length }, (_, i) => (from + i) % 256));
const partsOf = (request) => (request.parts ?? [request.binary.hex]).map(bytesOf);
let counter = 0x1234;
const references = () => counter++;
const build = (msg, settings = SPLIT, api = 'v3') => buildRequest(msg, settings, api, Date.now(), references);

function refusal(msg, settings = SPLIT, api = 'v3') {
  try {
    build(msg, settings, api);
  } catch (error) {
    return { key: error.key, params: error.params };
  }
  throw new Error('expected a refusal');
}

describe('long payloads', function () {
  beforeEach(function () {
    counter = 0x1234;
  });

  describe('what fits one SMS', function () {
    it('sends 140 bytes as one SMS, unchanged', function () {
      const request = build({ payload: data(140) });
      (request.parts === undefined).should.be.true();
      bytesOf(request.binary.hex).should.eql([...data(140)]);
      request.binary.esmClass.should.equal(0);
    });
    it('sends a payload with its own header that fits exactly as given', function () {
      const payload = Buffer.concat([Buffer.from([6, 5, 4, 0x0b, 0x84, 0x23, 0xf0]), data(133)]);
      const request = build({ payload, esmClass: 64 });
      bytesOf(request.binary.hex).should.eql([...payload]);
      (request.parts === undefined).should.be.true();
    });
    it('leaves a node saved without the setting as it was: 600 bytes go as one message', function () {
      const request = build({ payload: data(600) }, { to: '41793026727' });
      (request.parts === undefined).should.be.true();
      bytesOf(request.binary.hex).length.should.equal(600);
    });
  });

  describe('splitting', function () {
    it('splits 141 bytes into 134 + 7 with an 8-bit concatenation header, UDHI set', function () {
      const request = build({ payload: data(141) });
      const parts = partsOf(request);
      parts.map((part) => part.length).should.eql([140, 13]);
      parts[0].slice(0, 6).should.eql([5, 0, 3, 0x34, 2, 1]);
      parts[1].slice(0, 6).should.eql([5, 0, 3, 0x34, 2, 2]);
      [...parts[0].slice(6), ...parts[1].slice(6)].should.eql([...data(141)]);
      request.binary.esmClass.should.equal(64);
      request.binary.hex.should.equal(request.parts[0]);
    });
    it('fills parts of 134 data bytes: 268 bytes are two parts, 269 three', function () {
      partsOf(build({ payload: data(268) }))
        .map((part) => part.length)
        .should.eql([140, 140]);
      partsOf(build({ payload: data(269) }))
        .map((part) => part.length)
        .should.eql([140, 140, 7]);
    });
    it('splits 600 bytes into 5 parts that reassemble to the payload', function () {
      const parts = partsOf(build({ payload: data(600) }));
      parts.length.should.equal(5);
      parts.every((part) => part.length <= 140).should.be.true();
      parts.flatMap((part) => part.slice(1 + part[0])).should.eql([...data(600)]);
      parts.map((part) => part[5]).should.eql([1, 2, 3, 4, 5]);
    });
    it('writes a 16-bit reference when asked: 133 data bytes per part', function () {
      const parts = partsOf(build({ payload: data(141) }, { ...SPLIT, concatRef: '16' }));
      parts.map((part) => part.length).should.eql([140, 15]);
      parts[0].slice(0, 7).should.eql([6, 8, 4, 0x12, 0x34, 2, 1]);
    });
    it('gives two long messages different references', function () {
      const first = partsOf(build({ payload: data(200) }));
      const second = partsOf(build({ payload: data(200) }));
      first[0][3].should.not.equal(second[0][3]);
    });
    it('keeps a UCS-2 part from ending inside a character', function () {
      const parts = partsOf(build({ payload: data(200) }, { ...SPLIT, dataCoding: '8' }));
      parts.map((part) => part.length - 6).should.eql([134, 66]);
      const odd = partsOf(build({ payload: data(200) }, { ...SPLIT, dataCoding: '8', concatRef: '16' }));
      odd.map((part) => part.length - 7).should.eql([132, 68]);
    });
    it('refuses more parts than At most, naming the bytes and the parts', function () {
      build({ payload: data(1340) }).parts.length.should.equal(10);
      refusal({ payload: data(1341) }).should.eql({ key: 'tooManyParts', params: { bytes: 1341, parts: 11, max: 10 } });
      refusal({ payload: data(300) }, { ...SPLIT, maxParts: '2' }).params.should.eql({ bytes: 300, parts: 3, max: 2 });
    });
    it('needs a v3 account: on v1 a long payload fails before sending', function () {
      refusal({ payload: data(141) }, SPLIT, 'v1').should.eql({ key: 'splitNeedsV3', params: { bytes: 141 } });
      build({ payload: data(140) }, SPLIT, 'v1')
        .binary.hex.split(' ')
        .length.should.equal(140);
    });
    it('refuses a long payload when set to, saying how many bytes the header and the data take', function () {
      refusal({ payload: data(141) }, { ...SPLIT, longPayload: 'refuse' }).should.eql({
        key: 'tooLong',
        params: { header: 0, data: 141 },
      });
      refusal({ payload: data(134) }, { ...SPLIT, longPayload: 'refuse', destinationPort: '2948' }).params.should.eql({
        header: 7,
        data: 134,
      });
      // A header alone over 140 bytes: no room left to name, never a negative one.
      const udh = Buffer.concat([Buffer.of(200, 0x70, 198), Buffer.alloc(198)]);
      refusal({ payload: data(1), udh }, { ...SPLIT, longPayload: 'refuse' }).params.should.eql({
        header: 201,
        data: 1,
      });
    });
  });

  describe('ports', function () {
    it('adds the 16-bit port element to a payload that fits, and sets UDHI', function () {
      const request = build({ payload: data(10) }, { ...SPLIT, destinationPort: '2948', sourcePort: '9200' });
      bytesOf(request.binary.hex).should.eql([6, 5, 4, 0x0b, 0x84, 0x23, 0xf0, ...data(10)]);
      request.binary.esmClass.should.equal(64);
    });
    it('puts the ports before the concatenation element in every part: 128 data bytes per part', function () {
      partsOf(build({ payload: data(133), destinationPort: 2948 })).length.should.equal(1);
      const parts = partsOf(build({ payload: data(134), destinationPort: 2948 }));
      parts.map((part) => part.length).should.eql([140, 18]);
      parts[1].slice(0, 12).should.eql([11, 5, 4, 0x0b, 0x84, 0, 0, 0, 3, 0x34, 2, 2]);
    });
    it('lets msg.destinationPort and msg.sourcePort replace the node ports, origin 0 by default', function () {
      const request = build({ payload: data(1), destinationPort: 5000 }, { ...SPLIT, destinationPort: '2948' });
      bytesOf(request.binary.hex).slice(0, 7).should.eql([6, 5, 4, 0x13, 0x88, 0, 0]);
    });
    it('refuses a source port without a destination port, a port out of range, and ports given twice', function () {
      refusal({ payload: data(1), sourcePort: 9200 }).key.should.equal('sourceWithoutDestination');
      refusal({ payload: data(1), destinationPort: 65536 }).should.eql({
        key: 'numberValue',
        params: { field: 'msg.destinationPort', value: '65536', min: 0, max: 65535 },
      });
      refusal({ payload: data(1), destinationPort: '80' }).params.field.should.equal('msg.destinationPort');
      refusal({ payload: [4, 5, 2, 1, 2, 9], esmClass: 64, destinationPort: 80 }).key.should.equal('udhPortsTwice');
    });
  });

  describe("a header of the user's", function () {
    it('keeps the payload own header in every part, adds the concatenation element and recomputes UDHL', function () {
      const own = [6, 5, 4, 0x0b, 0x84, 0x23, 0xf0];
      const parts = partsOf(build({ payload: Buffer.concat([Buffer.from(own), data(200)]), esmClass: 64 }));
      parts.map((part) => part.length).should.eql([140, 84]);
      for (const [index, part] of parts.entries()) {
        part.slice(0, 12).should.eql([11, 5, 4, 0x0b, 0x84, 0x23, 0xf0, 0, 3, 0x34, 2, index + 1]);
      }
      parts.flatMap((part) => part.slice(12)).should.eql([...data(200)]);
    });
    it('takes msg.udh as the header in front of the data', function () {
      const request = build({ payload: data(2), udh: '06 05 04 0b 84 23 f0' });
      bytesOf(request.binary.hex).should.eql([6, 5, 4, 0x0b, 0x84, 0x23, 0xf0, 0, 1]);
      request.binary.esmClass.should.equal(64);
      const parts = partsOf(build({ payload: data(200), udh: Buffer.from([6, 5, 4, 0x0b, 0x84, 0x23, 0xf0]) }));
      parts[0].slice(0, 12).should.eql([11, 5, 4, 0x0b, 0x84, 0x23, 0xf0, 0, 3, 0x34, 2, 1]);
    });
    it('sends the data of an empty header (UDHL 0) without a header and without UDHI, valid by Infobip schema', function () {
      const contentOf = (msg, settings) => {
        const request = build(msg, settings);
        request.messageIds = ['e1'];
        const body = requestBody([request], 'v3');
        validBody(body).should.be.true(JSON.stringify(validBody.errors));
        body.messages.should.have.length(1);
        const { hex, esmClass } = body.messages[0].content;
        return { hex, esmClass };
      };
      const own = { ...SPLIT, esmClass: '64' };
      contentOf({ payload: [0, 0xaa, 0xbb, 0xcc] }, own).should.eql({ hex: 'aa bb cc', esmClass: 0 });
      contentOf({ payload: [0, 0xaa, 0xbb, 0xcc], esmClass: 64 }, SPLIT).should.eql({ hex: 'aa bb cc', esmClass: 0 });
      contentOf({ payload: [0xaa, 0xbb, 0xcc], udh: '00' }, own).should.eql({ hex: 'aa bb cc', esmClass: 0 });
      contentOf({ payload: [0xaa, 0xbb, 0xcc], udh: '00' }, { ...own, longPayload: 'asIs' }).should.eql({
        hex: 'aa bb cc',
        esmClass: 0,
      });
      // Without the length byte, 140 data bytes fit one SMS; other ESM class bits stay.
      const full = build({ payload: Buffer.concat([Buffer.of(0), data(140)]) }, { ...SPLIT, esmClass: '67' });
      (full.parts === undefined).should.be.true();
      bytesOf(full.binary.hex).should.eql([...data(140)]);
      full.binary.esmClass.should.equal(3);
    });
    it('refuses a malformed header before sending, naming the byte', function () {
      refusal({ payload: [9, 0, 1], esmClass: 64 }).should.eql({
        key: 'udhLength',
        params: { field: 'msg.payload', length: 9, available: 2 },
      });
      refusal({ payload: [3, 5, 4, 1, 7], esmClass: 64 }).should.eql({
        key: 'udhElement',
        params: { field: 'msg.payload', byte: 1, id: '05', length: 4, left: 1 },
      });
      refusal({ payload: data(2), udh: '06 05 04 0b 84' }).key.should.equal('udhLength');
      refusal({ payload: data(2), udh: 'zz' }).key.should.equal('udhValue');
    });
    it('refuses a header longer than its length byte can say (255) before sending, in every mode', function () {
      // 254 bytes of elements in msg.udh, and the 6-byte port element: 260, which one byte cannot say.
      const udh = Buffer.concat([Buffer.of(254, 0x70, 252), Buffer.alloc(252)]);
      const ports = { destinationPort: 2948 };
      for (const longPayload of ['asIs', 'split', 'refuse']) {
        refusal({ payload: data(2), udh, ...ports }, { ...SPLIT, longPayload }).should.eql({
          key: 'udhOver255',
          params: { bytes: 260 },
        });
      }
      const own = Buffer.concat([Buffer.of(255, 0x70, 253), Buffer.alloc(253), data(2)]);
      refusal({ payload: own, esmClass: 64, ...ports }, { ...SPLIT, longPayload: 'asIs' }).params.should.eql({
        bytes: 261,
      });
      let thrown;
      try {
        build({ payload: data(2), udh, ...ports }, { ...SPLIT, longPayload: 'asIs' });
      } catch (error) {
        thrown = error;
      }
      thrown.statusReason.should.equal('input');
      // 249 bytes of elements and the port element: 255, the most, goes as it is.
      const longest = Buffer.concat([Buffer.of(249, 0x70, 247), Buffer.alloc(247)]);
      const request = build({ payload: data(2), udh: longest, ...ports }, { ...SPLIT, longPayload: 'asIs' });
      bytesOf(request.binary.hex).slice(0, 1).should.eql([255]);
      bytesOf(request.binary.hex).length.should.equal(258);
    });
    it('refuses to split a payload whose header already has a concatenation element', function () {
      refusal({ payload: Buffer.concat([Buffer.from([5, 0, 3, 1, 2, 1]), data(140)]), esmClass: 64 }).key.should.equal(
        'udhConcatTwice',
      );
    });
    it('sends a header of the user as it is with Long payloads "As is"', function () {
      const payload = [9, 0, 1];
      bytesOf(build({ payload, esmClass: 64 }, { ...SPLIT, longPayload: 'asIs' }).binary.hex).should.eql(payload);
    });
  });

  describe('message class', function () {
    it('sets the class bits of the data coding (TS 23.038)', function () {
      const coding = (dataCoding, messageClass) =>
        build({ payload: 'ab', messageClass }, { ...SPLIT, dataCoding }).binary.dataCoding;
      coding('4', 1).should.equal(0xf5);
      coding('4', 2).should.equal(0xf6);
      coding('0', 0).should.equal(0xf0);
      coding('8', 1).should.equal(0x19);
      coding('245', 3).should.equal(0xf7);
      build({ payload: 'ab' }, { ...SPLIT, messageClass: '2' }).binary.dataCoding.should.equal(0xf6);
    });
    it('refuses a data coding that cannot carry a class, and a class out of range', function () {
      refusal({ payload: 'ab', messageClass: 1 }, { ...SPLIT, dataCoding: '192' }).should.eql({
        key: 'messageClassCoding',
        params: { dataCoding: 192, messageClass: 1 },
      });
      refusal({ payload: 'ab', messageClass: 4 }).key.should.equal('numberValue');
    });
  });

  describe('the node settings', function () {
    it('are checked at deploy by the same rules', function () {
      const keys = (settings) => checkNodeSettings({ ...SPLIT, ...settings }).map((problem) => problem.key);
      keys({}).should.eql([]);
      keys({ longPayload: 'cut' }).should.eql(['choiceValue']);
      keys({ maxParts: '1' }).should.eql(['numberValue']);
      keys({ maxParts: '256' }).should.eql(['numberValue']);
      keys({ concatRef: '12' }).should.eql(['choiceValue']);
      keys({ sourcePort: '9200' }).should.eql(['sourceWithoutDestination']);
      keys({ destinationPort: '70000' }).should.eql(['numberValue']);
      keys({ messageClass: '1', dataCoding: '192' }).should.eql(['messageClassCoding']);
    });
  });

  describe('the v3 body', function () {
    it('has one message per part, in order, each destination with its own id per part, valid by Infobip schema', function () {
      const request = build(
        { payload: data(600) },
        { ...SPLIT, to: '41793026727, 41793026834', destinationPort: '2948' },
      );
      request.messageIds = ['a1', 'b1'];
      const body = requestBody([request], 'v3');
      validBody(body).should.be.true(JSON.stringify(validBody.errors));
      body.messages.length.should.equal(5);
      body.messages.map((message) => message.content.hex).should.eql(request.parts);
      body.messages[2].destinations.should.eql([
        { to: '41793026727', messageId: partIdOf('a1', 3) },
        { to: '41793026834', messageId: partIdOf('b1', 3) },
      ]);
      body.messages
        .every((message) => message.content.esmClass === 64 && message.content.dataCoding === 4)
        .should.be.true();
    });
  });

  describe("Infobip's answer to a split message", function () {
    const entry = (messageId, destination, groupName = 'PENDING') => ({
      messageId,
      destination,
      status: { groupName, name: `${groupName}_X` },
    });
    const answer = (...messages) => ({ statusCode: 200, body: { bulkId: 'b', messages } });
    const clone = (msg) => structuredClone(msg);
    const ids = ['a', 'b'];
    const to = ['41793026727', '41793026834'];

    it('gives one output per destination with every part id and entry, in part order', function () {
      const parts = [1, 2, 3].flatMap((part) => [entry(partIdOf('a', part), to[0]), entry(partIdOf('b', part), to[1])]);
      const { messages, missing } = responseToMessages(
        { topic: 't' },
        to,
        answer(...parts.reverse()),
        's',
        clone,
        ids,
        3,
      );
      missing.should.be.empty();
      messages.map((msg) => msg.to).should.eql([to[1], to[0]]);
      const first = messages.find((msg) => msg.to === to[0]);
      first.partIds.should.eql(['a', 'a.2', 'a.3']);
      first.messageId.should.equal('a');
      first.payload.should.equal(first.partEntries[0]);
    });
    it("makes the first rejected part's entry msg.payload", function () {
      const parts = [entry('a', to[0]), entry('a.2', to[0], 'REJECTED'), entry('a.3', to[0], 'REJECTED')];
      const { messages } = responseToMessages({}, [to[0]], answer(...parts), 's', clone, ['a'], 3);
      messages[0].payload.messageId.should.equal('a.2');
    });
    it('leaves a destination with a part the answer does not list "delivery unknown"', function () {
      const parts = [
        entry('a', to[0]),
        entry('a.2', to[0]),
        entry('a.3', to[0]),
        entry('b', to[1]),
        entry('b.3', to[1]),
      ];
      const { messages, missing } = responseToMessages({}, to, answer(...parts), 's', clone, ids, 3);
      messages.map((msg) => msg.to).should.eql([to[0]]);
      missing.should.eql([to[1]]);
    });
    it('matches entries without our ids by number, part by part', function () {
      const parts = [entry('x1', to[0]), entry('x2', to[0])];
      const { messages, unexpected } = responseToMessages(
        {},
        [to[0]],
        answer(...parts, entry('x3', to[0])),
        's',
        clone,
        undefined,
        2,
      );
      messages[0].partIds.should.eql(['x1', 'x2']);
      unexpected.should.eql([to[0]]);
    });
    it('gives each request of a shared body the entries of its parts', function () {
      const long = {
        to: [to[0]],
        binary: { hex: '', dataCoding: 4, esmClass: 64 },
        parts: ['', ''],
        messageIds: ['a'],
      };
      const short = { to: [to[0]], binary: { hex: 'ab', dataCoding: 4, esmClass: 0 }, messageIds: ['c'] };
      const [forLong, forShort] = splitAnswer(
        [long, short],
        answer(entry('c', to[0]), entry('a.2', to[0]), entry('a', to[0])),
      );
      forLong.body.messages.map((item) => item.messageId).should.eql(['a.2', 'a']);
      forShort.body.messages.map((item) => item.messageId).should.eql(['c']);
    });
  });
});
