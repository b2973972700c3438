'use strict';
// Preloaded into node-red-dev (the Flow Library scorecard): it fetches the Flow Library's
// catalogue from catalogue.nodered.org, which this machine cannot reach. This answers that
// one request with an empty catalogue; every other request goes out as usual.
const Module = require('node:module');

const CATALOGUE = 'https://catalogue.nodered.org/catalogue.json';
const originalLoad = Module._load;
Module._load = function load(request, parent, isMain) {
  const loaded = originalLoad.call(this, request, parent, isMain);
  if (request === 'axios' && !loaded.__offlineCatalogue) {
    const get = loaded.get.bind(loaded);
    loaded.get = (url, config) =>
      url === CATALOGUE ? Promise.resolve({ status: 200, data: { modules: [] } }) : get(url, config);
    loaded.__offlineCatalogue = true;
  }
  return loaded;
};
