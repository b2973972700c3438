'use strict';
// The example flows show today's defaults: a user importing one gets what a new account gets.
require('should');
const fs = require('node:fs');
const path = require('node:path');
const { ACCOUNT_FIELD_DEFAULTS } = require('../../dist/lib/rules');

const examples = path.resolve(__dirname, '..', '..', 'examples');

describe('example flows', function () {
  for (const file of fs.readdirSync(examples).filter((name) => name.endsWith('.json'))) {
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
