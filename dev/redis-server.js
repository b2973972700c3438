'use strict';
// A real redis-server for tests and the bench: on a free loopback port, in a temporary directory,
// without persistence; stop() ends it, start() again brings it back on the same port (an outage).
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const BINARY = process.env.REDIS_SERVER ?? 'redis-server';
const MISSING = `redis-server is not installed: the shared-state tests need a real Redis. Install it with: sudo apt-get install -y redis-server (or set REDIS_SERVER to its path).`;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

class RedisServer {
  constructor({ password } = {}) {
    this.password = password;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'binary-sms-redis-'));
  }

  /** redis:// URL of this server (with the password, when it has one). */
  get url() {
    const auth = this.password ? `:${encodeURIComponent(this.password)}@` : '';
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  async start() {
    if (spawnSync(BINARY, ['--version']).error) throw new Error(MISSING);
    this.port ??= await freePort();
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    args.push('--dir', this.dir);
    if (this.password) args.push('--requirepass', this.password);
    this.child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start in 10 s:\n${output}`)), 10000);
      this.child.stdout.on('data', (chunk) => {
        output += chunk;
        if (/Ready to accept connections/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
    });
    return this;
  }

  async stop() {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async destroy() {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

module.exports = { RedisServer, MISSING };
