'use strict';
const should = require('should');
const { buildRequest, requestBody } = require('../../dist/lib/send/request');
const rules = require('../../dist/lib/rules');

const SETTINGS = { from: '', to: '41793026727', dataCoding: '0', esmClass: '0' };

function refusal(msg, settings = SETTINGS) {
  try {
    buildRequest(msg, settings);
  } catch (error) {
    return { key: error.key, params: error.params };
  }
  throw new Error('expected a refusal');
}

describe('buildRequest', function () {
  it('builds the documented body from the node settings', function () {
    buildRequest({ payload: 'ab' }, SETTINGS).should.eql({
      to: ['41793026727'],
      binary: { hex: 'ab', dataCoding: 0, esmClass: 0 },
    });
  });

  describe('destinations', function () {
    it('splits the node setting on commas, semicolons and line breaks, keeping spaces inside numbers', function () {
      buildRequest(
        { payload: 'ab' },
        { ...SETTINGS, to: '+41 79 302 67 27, +44 (7911) 123-456;\n4915112345678' },
      ).to.should.eql(['41793026727', '447911123456', '4915112345678']);
    });
    it('keeps a spaced-out number whole when there is no comma', function () {
      buildRequest({ payload: 'ab' }, { ...SETTINGS, to: '+41 79 302 67 27' }).to.should.eql(['41793026727']);
    });
    it('splits on spaces when there is no comma and every part is a whole number', function () {
      buildRequest({ payload: 'ab' }, { ...SETTINGS, to: '41793026727  41793026834' }).to.should.eql([
        '41793026727',
        '41793026834',
      ]);
    });
    it('lets msg.to replace the setting, as a string, an array or numbers', function () {
      buildRequest({ payload: 'ab', to: '+1 (555) 010.9999' }, SETTINGS).to.should.eql(['15550109999']);
      buildRequest({ payload: 'ab', to: ['+41 79 302 67 27', '44-7911-123456'] }, SETTINGS).to.should.eql([
        '41793026727',
        '447911123456',
      ]);
      buildRequest({ payload: 'ab', to: [41793026727] }, SETTINGS).to.should.eql(['41793026727']);
    });
    it('sends a number listed twice once', function () {
      buildRequest({ payload: 'ab', to: ['41793026727', '+41 79 302 67 27'] }, SETTINGS).to.should.eql(['41793026727']);
    });
    it('refuses a missing, empty or mistyped destination', function () {
      refusal({ payload: 'ab' }, { ...SETTINGS, to: '' }).key.should.equal('toMissing');
      refusal({ payload: 'ab', to: [] }).key.should.equal('toEmpty');
      refusal({ payload: 'ab', to: '  ' }).key.should.equal('toEmpty');
      refusal({ payload: 'ab', to: { number: 1 } }).should.eql({ key: 'toType', params: { type: 'object' } });
      refusal({ payload: 'ab', to: [true] }).key.should.equal('toType');
    });
    it('refuses numbers with letters, a leading 0, or a wrong length, naming the field and value', function () {
      refusal({ payload: 'ab', to: ['41793026727', '4179302672x'] }).should.eql({
        key: 'toInvalid',
        params: { field: 'msg.to', value: '4179302672x' },
      });
      refusal({ payload: 'ab', to: '0041793026727' }).key.should.equal('toInvalid');
      refusal({ payload: 'ab', to: '123456' }).key.should.equal('toInvalid');
      refusal({ payload: 'ab', to: '1234567890123456' }).key.should.equal('toInvalid');
      refusal({ payload: 'ab', to: '41 79#3026727' }).key.should.equal('toInvalid');
      refusal({ payload: 'ab' }, { ...SETTINGS, to: '4179 abc' }).params.should.eql({
        field: 'node.to',
        value: '4179 abc',
      });
    });
  });

  describe('sender', function () {
    it('omits from when neither the node nor msg.from sets it', function () {
      should(buildRequest({ payload: 'ab' }, SETTINGS).from).be.undefined();
    });
    it('takes the node setting, and msg.from over it', function () {
      buildRequest({ payload: 'ab' }, { ...SETTINGS, from: 'InfoSMS' }).from.should.equal('InfoSMS');
      buildRequest({ payload: 'ab', from: '12345678901234' }, { ...SETTINGS, from: 'InfoSMS' }).from.should.equal(
        '12345678901234',
      );
    });
    it('accepts 3–11 alphanumeric characters or 3–14 digits', function () {
      for (const ok of ['ABC', 'Company Ltd', 'A.B_C&D-E', '123', '12345678901234'])
        rules.isValidSender(ok).should.be.true(ok);
      for (const bad of ['AB', 'CompanyName12', '12', '123456789012345', 'Ünïcode', ' ABC', '...', 'A+B']) {
        rules.isValidSender(bad).should.be.false(bad);
      }
    });
    it('refuses an invalid sender, naming where it came from', function () {
      refusal({ payload: 'ab', from: 'AB' }).should.eql({
        key: 'fromInvalid',
        params: { field: 'msg.from', value: 'AB' },
      });
      refusal({ payload: 'ab', from: ['ABC'] }).key.should.equal('fromInvalid');
      refusal({ payload: 'ab' }, { ...SETTINGS, from: 'WayTooLongSender' }).params.field.should.equal('node.from');
    });
  });

  describe('dataCoding and esmClass', function () {
    it('use the node settings, 0 when empty, and msg values over them', function () {
      buildRequest({ payload: 'ab' }, { ...SETTINGS, dataCoding: '8', esmClass: 64 }).binary.should.eql({
        hex: 'ab',
        dataCoding: 8,
        esmClass: 64,
      });
      buildRequest(
        { payload: 'ab' },
        { ...SETTINGS, dataCoding: '', esmClass: undefined },
      ).binary.dataCoding.should.equal(0);
      buildRequest({ payload: 'ab', dataCoding: 4, esmClass: '64' }, SETTINGS).binary.should.eql({
        hex: 'ab',
        dataCoding: 4,
        esmClass: 64,
      });
    });
    it('refuse anything but an integer 0–255', function () {
      for (const bad of [256, -1, 1.5, 'eight', '', true, {}]) {
        refusal({ payload: 'ab', dataCoding: bad }).key.should.equal('byteValue');
      }
      refusal({ payload: 'ab', esmClass: 300 }).params.should.eql({ field: 'msg.esmClass', value: '300' });
      refusal({ payload: 'ab' }, { ...SETTINGS, dataCoding: 'x' }).params.field.should.equal('node.dataCoding');
    });
  });

  it('checks destinations before the payload, so the first error names the first bad field', function () {
    refusal({ payload: 'zz', to: 'nope' }).key.should.equal('toInvalid');
  });
});

describe('requestBody (v3)', function () {
  const now = Date.parse('2030-01-01T10:00:00Z');
  const request = (sendAt) => ({
    to: ['41793026727'],
    binary: { hex: 'ab', dataCoding: 0, esmClass: 0 },
    options: { sendAt },
  });
  it('keeps a schedule still ahead', function () {
    requestBody([request('2030-01-01T10:05:00.000+0000')], 'v3', now).options.should.eql({
      schedule: { sendAt: '2030-01-01T10:05:00.000+0000' },
    });
  });
  it('sends a message that waited in the queue past its sendAt at once, without a schedule in the past', function () {
    should(requestBody([request('2030-01-01T09:59:59.000+0000')], 'v3', now).options).be.undefined();
  });
  it("a scheduled message's bulk keeps its id, also when it goes late (the flow may hold the id already)", function () {
    const bulk = (sendAt) => ({ ...request(sendAt), bulkId: 'own-bulk' });
    requestBody([bulk('2030-01-01T10:05:00.000+0000')], 'v3', now).options.should.eql({
      schedule: { bulkId: 'own-bulk', sendAt: '2030-01-01T10:05:00.000+0000' },
    });
    requestBody([bulk('2030-01-01T09:59:59.000+0000')], 'v3', now).options.should.eql({
      schedule: { bulkId: 'own-bulk' },
    });
  });
});

describe('rules shared with the editor', function () {
  it('normalises an http(s) base URL and refuses anything else', function () {
    rules.normaliseBaseUrl('https://xyz12.api.infobip.com/').should.equal('https://xyz12.api.infobip.com');
    rules.normaliseBaseUrl(' http://127.0.0.1:8080 ').should.equal('http://127.0.0.1:8080');
    for (const bad of ['', 'api.infobip.com', 'ftp://x', 'https://x.com?key=1', 'https://a b']) {
      should(rules.normaliseBaseUrl(bad)).be.undefined();
    }
  });
  it("refuses a user name or password in an account's base URL, and says so apart from a URL that is not one", function () {
    rules
      .parseBaseUrl(' https://xyz12.api.infobip.com/ ')
      .should.eql({ ok: true, value: 'https://xyz12.api.infobip.com' });
    rules.parseBaseUrl('http://127.0.0.1:8080/sms@v3').should.eql({ ok: true, value: 'http://127.0.0.1:8080/sms@v3' });
    const withCredentials = [
      'http://user:password@host',
      'https://user@xyz12.api.infobip.com',
      ' HTTPS://u:p@xyz12.api.infobip.com/base/ ',
      'https://u:p@host?query=1',
      'https://:p@host',
      'ftp://u:p@host',
    ];
    for (const url of withCredentials) rules.parseBaseUrl(url).should.eql({ ok: false, problem: 'credentials' }, url);
    for (const bad of ['', 'api.infobip.com', 'ftp://x', 'https://x.com?key=1', 'mail@api.infobip.com']) {
      rules.parseBaseUrl(bad).should.eql({ ok: false, problem: 'notUrl' }, bad);
    }
  });
  it('parses a typed destination list, reporting the first bad entry', function () {
    rules.parseDestinationList('').should.eql({ ok: true, value: [] });
    rules.parseDestinationList('41793026727, 12').should.eql({ ok: false, value: '12' });
  });
});
