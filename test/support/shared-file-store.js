'use strict';
// A Node-RED context store kept in one JSON file that several Node-RED processes share, standing
// in for a shared store plugin (Redis and the like cannot be installed here). It implements
// Node-RED's Store API: open, close, get, set, keys, delete, clean. Every call reads the file
// afresh and every change writes it at once, so each process sees the others' writes.
const fs = require('node:fs');

class SharedFileStore {
  constructor(config) {
    this.file = config.file;
  }
  read() {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch {
      return {};
    }
  }
  write(data) {
    const temporary = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(data));
    fs.renameSync(temporary, this.file);
  }
  open() {
    return Promise.resolve();
  }
  close() {
    return Promise.resolve();
  }
  get(scope, key, callback) {
    const values = this.read()[scope] ?? {};
    if (Array.isArray(key)) {
      const results = key.map((k) => values[k]);
      if (!callback) return results;
      return callback(null, ...results);
    }
    if (!callback) return values[key];
    callback(null, values[key]);
  }
  set(scope, key, value, callback) {
    const data = this.read();
    data[scope] ??= {};
    const keys = Array.isArray(key) ? key : [key];
    const values = Array.isArray(key) ? value : [value];
    keys.forEach((k, i) => {
      if (values[i] === undefined) delete data[scope][k];
      else data[scope][k] = values[i];
    });
    this.write(data);
    callback?.(null);
  }
  keys(scope, callback) {
    const result = Object.keys(this.read()[scope] ?? {});
    if (!callback) return result;
    callback(null, result);
  }
  delete(scope) {
    const data = this.read();
    delete data[scope];
    this.write(data);
    return Promise.resolve();
  }
  clean() {
    return Promise.resolve();
  }
}

module.exports = (config) => new SharedFileStore(config);
