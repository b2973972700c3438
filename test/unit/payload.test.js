'use strict';
require('should');
const vm = require('node:vm');
const { payloadToHex } = require('../../dist/lib/send/payload');

function refusal(payload) {
  try {
    payloadToHex(payload);
  } catch (error) {
    return { key: error.key, params: error.params };
  }
  throw new Error('expected a refusal');
}

describe('payloadToHex', function () {
  describe('byte containers', function () {
    it('formats a Buffer as lower-case pairs separated by one space', function () {
      payloadToHex(Buffer.from([0x54, 0x65, 0x73, 0x74, 0x0f, 0xff])).should.equal('54 65 73 74 0f ff');
    });
    it('reads a Uint8Array, an Int8Array view and a DataView over part of a buffer', function () {
      payloadToHex(new Uint8Array([1, 2, 255])).should.equal('01 02 ff');
      payloadToHex(new Int8Array([-1, 1])).should.equal('ff 01');
      const backing = new Uint8Array([9, 8, 7, 6]).buffer;
      payloadToHex(new DataView(backing, 1, 2)).should.equal('08 07');
      payloadToHex(Buffer.from([0, 1, 2, 3]).subarray(2)).should.equal('02 03');
    });
    it('reads an ArrayBuffer', function () {
      payloadToHex(new Uint8Array([0xca, 0xfe]).buffer).should.equal('ca fe');
    });
    it('reads byte arrays made in another realm (as in a Function node)', function () {
      const foreign = vm.runInNewContext('new Uint8Array([0xde, 0xad])');
      (foreign instanceof Uint8Array).should.be.false();
      payloadToHex(foreign).should.equal('de ad');
      payloadToHex(vm.runInNewContext('[1, 2, 3]')).should.equal('01 02 03');
      payloadToHex(vm.runInNewContext('new Uint8Array([7]).buffer')).should.equal('07');
    });
    it('reads an array of integers and a Buffer serialised to JSON', function () {
      payloadToHex([0, 127, 128, 255]).should.equal('00 7f 80 ff');
      payloadToHex(JSON.parse(JSON.stringify(Buffer.from([1, 2])))).should.equal('01 02');
    });
  });

  describe('hex strings', function () {
    const forms = {
      '0FC24A': '0f c2 4a',
      '0f c2 4a': '0f c2 4a',
      '0x0fc24a': '0f c2 4a',
      '0X0F C2': '0f c2',
      '0f:c2:4a': '0f c2 4a',
      '0f-c2-4a': '0f c2 4a',
      '0f,c2,4a': '0f c2 4a',
      ' 0f\nc2\r\n4a\t': '0f c2 4a',
      '0fc2 4a': '0f c2 4a',
      '0f, c2, 4a': '0f c2 4a',
    };
    for (const [input, expected] of Object.entries(forms)) {
      it(`reads ${JSON.stringify(input)}`, function () {
        payloadToHex(input).should.equal(expected);
      });
    }
  });

  describe('refusals', function () {
    it('refuses an empty payload in every form', function () {
      for (const empty of ['', '   ', '0x', Buffer.alloc(0), [], new Uint8Array(0)]) {
        refusal(empty).key.should.equal('payloadEmpty');
      }
    });
    it('refuses characters that are not hex, naming the group', function () {
      refusal('0f zz').should.eql({ key: 'payloadHexCharacter', params: { text: 'zz' } });
      refusal('hello').key.should.equal('payloadHexCharacter');
      refusal('0x0f 0x1a').key.should.equal('payloadHexCharacter');
    });
    it('refuses a group with an odd number of digits rather than guessing the pairing', function () {
      refusal('0fc').should.eql({ key: 'payloadHexOdd', params: { text: '0fc' } });
      refusal('1 2 3 4').key.should.equal('payloadHexOdd');
    });
    it('refuses array values outside 0–255 or not integers, naming the index', function () {
      refusal([1, 256]).should.eql({ key: 'payloadArrayValue', params: { index: 1, value: '256' } });
      refusal([-1]).params.index.should.equal(0);
      refusal([1.5]).key.should.equal('payloadArrayValue');
      refusal(['01']).key.should.equal('payloadArrayValue');
    });
    it('refuses other types, naming the type', function () {
      refusal(42).should.eql({ key: 'payloadType', params: { type: 'number' } });
      refusal({ a: 1 }).params.type.should.equal('object');
    });
    it('says a payload that is not there is missing', function () {
      refusal(undefined).should.eql({ key: 'payloadMissing', params: {} });
      refusal(null).should.eql({ key: 'payloadMissing', params: {} });
    });
  });
});
