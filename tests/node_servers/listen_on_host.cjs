// Preload for json-server 1.0.0-beta.15 (`node --require ./listen_on_host.cjs ...bin.js`):
// its CLI prints `--host` but calls `server.listen(port, undefined, callback)`, so the server
// listens on every interface. This makes a listen() without a host use the `--host` value
// (or 127.0.0.1), keeping the test server on the loopback interface.
'use strict'

const net = require('node:net')

const argv = process.argv
const flag = argv.findIndex((arg) => arg === '--host' || arg === '-h')
const host = flag !== -1 && argv[flag + 1] ? argv[flag + 1] : '127.0.0.1'
const listen = net.Server.prototype.listen

net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && args[1] === undefined) {
    args[1] = host
  }
  return listen.apply(this, args)
}
