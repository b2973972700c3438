'use strict';
// Every message key the editor templates, the help and the runtime use exists in every
// catalog, every language has the same keys as en-US with the same placeholders, and every
// help is laid out like the en-US one.
require('should');
const fs = require('node:fs');
const path = require('node:path');
const { MESSAGE_PROPERTIES } = require('../support/contract');

const root = path.resolve(__dirname, '..', '..');
const LANGUAGES = ['en-US', 'de', 'ja'];
const NODES = ['binary-sms', 'infobip-account', 'binary-sms-report', 'infobip-sms-in'];

function flatten(object, prefix = '') {
  return Object.entries(object).flatMap(([key, value]) =>
    typeof value === 'object' ? flatten(value, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

/** Every string of a catalog, by its dotted key. */
function strings(object, prefix = '') {
  return Object.entries(object).flatMap(([key, value]) =>
    typeof value === 'object' ? strings(value, `${prefix}${key}.`) : [[`${prefix}${key}`, value]],
  );
}

function help(language, node) {
  return fs.readFileSync(path.join(root, 'locales', language, `${node}.html`), 'utf8');
}

/** The help's elements in order, without the emphasis (<i>, <b>) a translation may move. */
function layout(html) {
  return [...html.matchAll(/<(\/?[a-z][a-z0-9]*)/g)].map(([, tag]) => tag).filter((tag) => !/^\/?[ib]$/.test(tag));
}

function catalog(language, node) {
  return JSON.parse(fs.readFileSync(path.join(root, 'locales', language, `${node}.json`), 'utf8'));
}

function usedKeys(node) {
  const html = fs.readFileSync(path.join(root, 'nodes', `${node}.html`), 'utf8');
  const script = fs.readFileSync(path.join(root, 'nodes', 'editor', `${node}.ts`), 'utf8');
  const keys = new Set();
  for (const [, key] of html.matchAll(/data-i18n="(?:\[[a-z]+\])?([^"]+)"/g)) keys.add(key);
  for (const [, key] of script.matchAll(/'([a-z-]+\.[A-Za-z]+(?:\.[A-Za-z]+)*)'/g)) keys.add(key);
  return [...keys].filter((key) => key.startsWith(`${node}.`) && !key.endsWith('.svg'));
}

describe('message catalogs', function () {
  for (const node of NODES) {
    for (const language of LANGUAGES) {
      it(`${language}/${node}.json has every key the editor uses`, function () {
        const keys = new Set(flatten(catalog(language, node)));
        const used = usedKeys(node);
        used.length.should.be.above(5);
        used.filter((key) => !keys.has(key)).should.be.empty();
      });
      if (language !== 'en-US') {
        it(`${language}/${node}.json has exactly the keys of en-US`, function () {
          flatten(catalog(language, node))
            .sort()
            .should.eql(flatten(catalog('en-US', node)).sort());
        });
        it(`${language}/${node}.json keeps every placeholder of each en-US text`, function () {
          const translated = new Map(strings(catalog(language, node)));
          for (const [key, text] of strings(catalog('en-US', node))) {
            for (const placeholder of text.match(/__\w+?__/g) ?? []) {
              String(translated.get(key)).should.containEql(placeholder, `${language}: ${node}.${key}`);
            }
          }
        });
        it(`${language}/${node}.html is laid out like the en-US help`, function () {
          const [english, translated] = [help('en-US', node), help(language, node)];
          translated.split('\n')[0].should.equal(english.split('\n')[0]);
          layout(translated).should.eql(layout(english));
        });
      }
    }
  }

  it('has every text of the Infobip sidebar in every language', function () {
    const source = (file) => fs.readFileSync(path.join(root, 'nodes', file), 'utf8');
    const script = source('editor/sidebar.ts');
    const quoted = (list) => [...list.matchAll(/'([A-Za-z]+)'/g)].map(([, word]) => word);
    const states = quoted(/export type CardState = ([^;]+);/.exec(source('lib/stats/view.ts'))[1]);
    const codes = quoted(/FAILURE_CODES = \[([^\]]+)\]/.exec(script)[1]);
    const used = [
      ...[...script.matchAll(/\bt\('([A-Za-z0-9.]+)'/g)].map(([, key]) => key),
      ...states.flatMap((state) => [`state.${state}`, `stateTip.${state}`]),
      ...codes.map((code) => `failedBy.${code}`),
      'shared.polling.reports',
      'shared.polling.inbound',
    ];
    states.length.should.be.above(5);
    used.length.should.be.above(40);
    for (const language of LANGUAGES) {
      const keys = new Set(flatten(catalog(language, 'infobip-account')['infobip-account'].sidebar));
      used.filter((key) => !keys.has(key)).should.eql([], language);
    }
  });

  for (const language of LANGUAGES) {
    it(`${language}/infobip-account.html explains every setting of the account dialog, by its label`, function () {
      const help = fs.readFileSync(path.join(root, 'locales', language, 'infobip-account.html'), 'utf8');
      help.should.containEql('data-help-name="infobip-account"');
      const labels = catalog(language, 'infobip-account')['infobip-account'].label;
      const settings = ['baseUrl', 'authType', 'concurrency', 'rateLimit', 'queueLimit', 'timeout', 'retries'];
      for (const setting of [...settings, 'throttleWait', 'trackLimit', 'trackStore']) {
        help.should.containEql(`<dt>${labels[setting]}</dt>`, `${language}: ${setting}`);
      }
    });
  }

  it('has a whole sentence for every error the runtime defines, and for each of its variants, in every language', function () {
    const { ERRORS, ONCE_ERRORS } = require(path.join(root, 'dist', 'lib', 'errors.js'));
    const keys = Object.keys(ERRORS);
    keys.should.containDeep(['payloadEmpty', 'toInvalid', 'http', 'http401', 'timeout', 'queueFull', 'closed']);
    const expected = keys.flatMap((key) => {
      const variants = [key];
      if (
        ['toInvalid', 'fromInvalid', 'byteValue', 'validityValue', 'needsV3', 'numberValue', 'choiceValue'].includes(
          key,
        )
      )
        variants.push(`${key}Node`);
      if (!['input', 'account'].includes(ERRORS[key]) && !ONCE_ERRORS.includes(key)) variants.push(`${key}Retried`);
      return variants;
    });
    for (const language of LANGUAGES) {
      const errors = catalog(language, 'binary-sms')['binary-sms'].errors;
      Object.keys(errors).sort().should.eql(expected.sort(), language);
      const statuses = catalog(language, 'binary-sms')['binary-sms'].status.failed;
      for (const reason of new Set(Object.values(ERRORS))) statuses.should.have.property(reason);
    }
  });

  it('documents every msg property of the contract in the help of every language', function () {
    for (const language of LANGUAGES) {
      const help = fs.readFileSync(path.join(root, 'locales', language, 'binary-sms.html'), 'utf8');
      for (const property of MESSAGE_PROPERTIES) {
        help.should.match(new RegExp(`<dt[^>]*>${property} <span class="property-type">`), `${language}: ${property}`);
      }
      help.should.match(/<h3>[^<]+<\/h3>[\s\S]*<h3>[^<]+<\/h3>[\s\S]*<h3>[^<]+<\/h3>[\s\S]*<h3>[^<]+<\/h3>/);
    }
  });
});
