'use strict';
// Preloaded into a Node-RED process (node -r) to give it the hostname in FAKE_HOSTNAME, as a
// container re-created from the same image with the same volume gets a new hostname.
const os = require('node:os');

const name = process.env.FAKE_HOSTNAME;
if (name) os.hostname = () => name;
