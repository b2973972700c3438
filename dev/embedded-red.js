'use strict';
// Runs a real Node-RED in this process, as a user's install would, for the packaged-install
// test, the browser test, the benchmark and `npm start`. Started as a child process:
//   node embedded-red.js '<json options>'   →  prints "READY <url>" when listening.
// Options: userDir (required), port (0 = any), host, nodesDir, flowFile,
// credentialSecret, httpNodeRoot (default /api), nodeRedDir (where the node-red package to
// embed lives), adminAuth, contextStorage, settings (more settings.js entries)
// (as in settings.js; a store's `moduleFile` names a context-store module to require).
const http = require('node:http');
const path = require('node:path');

async function main() {
  const options = JSON.parse(process.argv[2] ?? '{}');
  const nodeRedDir = options.nodeRedDir ?? path.dirname(require.resolve('node-red/package.json'));
  const RED = require(path.join(nodeRedDir, 'lib', 'red.js'));
  const express = require(require.resolve('express', { paths: [nodeRedDir] }));

  let contextStorage;
  if (options.contextStorage) {
    contextStorage = {};
    for (const [name, store] of Object.entries(options.contextStorage)) {
      contextStorage[name] = store.moduleFile ? { module: require(store.moduleFile), config: store.config } : store;
    }
  }

  const app = express();
  const server = http.createServer(app);
  RED.init(server, {
    userDir: options.userDir,
    flowFile: options.flowFile ?? 'flows.json',
    credentialSecret: options.credentialSecret ?? 'test-secret',
    nodesDir: options.nodesDir,
    contextStorage,
    adminAuth: options.adminAuth,
    httpAdminRoot: '/',
    httpNodeRoot: options.httpNodeRoot ?? '/api',
    uiHost: options.host ?? '127.0.0.1',
    logging: { console: { level: options.logLevel ?? 'warn', metrics: false, audit: false } },
    editorTheme: { tours: false, palette: { catalogues: [] }, projects: { enabled: false } },
    telemetry: { enabled: false, updateNotification: false },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    ...options.settings,
  });
  app.use(options.httpNodeRoot ?? '/api', RED.httpNode);
  app.use('/', RED.httpAdmin);
  await new Promise((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  await RED.start();
  const { port } = server.address();
  console.log(`READY http://${options.host ?? '127.0.0.1'}:${port}`);

  const stop = async () => {
    await RED.stop();
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
