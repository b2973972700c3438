'use strict';
// Starts embedded-red.js as a child process and talks to its admin API.
const { spawn } = require('node:child_process');
const path = require('node:path');
const { nodeRedDir } = require('./node-red-under-test');

async function startNodeRed(options, { nodeBinary = process.execPath, env = process.env, execArgv = [] } = {}) {
  const withNodeRed = { nodeRedDir, ...options };
  const child = spawn(nodeBinary, [...execArgv, path.join(__dirname, 'embedded-red.js'), JSON.stringify(withNodeRed)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Node-RED did not start in 60 s:\n${output}`)), 60000);
    const onData = (chunk) => {
      output += chunk;
      const ready = /READY (\S+)/.exec(output);
      if (ready) {
        clearTimeout(timer);
        resolve(ready[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => reject(new Error(`Node-RED exited with ${code}:\n${output}`)));
  });
  return {
    url,
    child,
    output: () => output,
    async request(method, route, { body, headers = {}, accept = 'application/json' } = {}) {
      const response = await fetch(url + route, {
        method,
        headers: { accept, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: response.status, text, json };
    },
    async deploy(flows) {
      const response = await this.request('POST', '/flows', {
        body: flows,
        headers: { 'Node-RED-Deployment-Type': 'full' },
      });
      if (response.status !== 200 && response.status !== 204)
        throw new Error(`deploy failed: ${response.status} ${response.text}`);
    },
    /** An adminAuth access token for a user (password grant), with the scope asked for. */
    async token(username, password, scope, clientId = 'node-red-admin') {
      const response = await fetch(url + '/auth/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: clientId, grant_type: 'password', scope, username, password }),
      });
      if (response.status !== 200) throw new Error(`no token for ${username}: ${response.status}`);
      return (await response.json()).access_token;
    },
    /** Fetches a route served by a just-deployed flow, waiting (up to 10 s) until the flow serves it. */
    async whenRouted(route, init) {
      const deadline = Date.now() + 10000;
      for (;;) {
        const response = await fetch(url + route, init);
        if (response.status !== 404 || Date.now() > deadline) return response;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
      await exited;
      clearTimeout(timer);
    },
  };
}

module.exports = { startNodeRed };
