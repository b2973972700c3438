'use strict';
// The example flows show today's defaults: a user importing one gets what a new account gets.
const should = require('should');
const fs = require('node:fs');
const path = require('node:path');
const { ACCOUNT_FIELD_DEFAULTS } = require('../../dist/lib/rules');

const examples = path.resolve(__dirname, '..', '..', 'examples');

/** Seven or more digits, as a phone number is written (a leading +, spaces, dashes, dots or parentheses inside). */
const PHONE_NUMBER = /\+?\d(?:[\s().-]*\d){6,}/;

describe('example flows', function () {
  for (const file of fs.readdirSync(examples).filter((name) => name.endsWith('.json'))) {
    it(`${file}: holds no destination, so that deploying it against a real account texts nobody`, function () {
      for (const node of JSON.parse(fs.readFileSync(path.join(examples, file), 'utf8'))) {
        if (node.type === 'binary-sms') node.to.should.equal('', `${node.id}'s To`);
        // Ids and references to other nodes are not text a user reads or a flow sends.
        const references = new Set(['id', 'z', 'wires', 'account', 'scope']);
        const text = JSON.stringify(node, (key, value) => (references.has(key) ? undefined : value));
        should(PHONE_NUMBER.exec(text)?.[0]).equal(undefined, `a number in ${node.type} ${node.id}`);
      }
    });
    it(`${file}: its account carries the dialog's defaults and no setting that no longer exists`, function () {
      const accounts = JSON.parse(fs.readFileSync(path.join(examples, file), 'utf8')).filter(
        (node) => node.type === 'infobip-account',
      );
      accounts.should.have.length(1);
      const { id, type, name, ...settings } = accounts[0];
      [id, type, name].forEach((value) => value.should.be.a.String());
      settings.should.eql(ACCOUNT_FIELD_DEFAULTS);
    });
  }
});
