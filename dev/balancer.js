'use strict';
// A round-robin HTTP proxy in front of several Node-RED copies, as a load balancer (FlowFuse HA,
// a Kubernetes Service) spreads Infobip's pushes over them.
const http = require('node:http');

class RoundRobin {
  constructor() {
    this.targets = [];
    this.next = 0;
    this.forwarded = [];
    this.server = http.createServer((req, res) => this.forward(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}`;
    return this;
  }

  /** The copies behind it (their base URLs); one that is down is skipped, as a health check would. */
  setTargets(urls) {
    this.targets = urls;
  }

  forward(req, res, tried = 0) {
    if (this.targets.length === 0 || tried >= this.targets.length) {
      res.writeHead(502).end();
      return;
    }
    const target = new URL(this.targets[this.next++ % this.targets.length]);
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const upstream = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          this.forwarded.push({ target: target.origin, path: req.url, status: answer.statusCode });
          res.writeHead(answer.statusCode, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => {
        // That copy is gone: the next one gets the request (the body is kept for it).
        const retry = Object.assign(require('node:stream').Readable.from([body]), {
          url: req.url,
          method: req.method,
          headers: req.headers,
        });
        this.forward(retry, res, tried + 1);
      });
      upstream.end(body);
    });
  }

  stop() {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(resolve));
  }
}

module.exports = { RoundRobin };
