// observer.js UPSTREAM_PORT — an independent ClientHello observer in front of guise echo.
//
// Listens on 127.0.0.1 (free port, printed as "listening PORT"), reads each
// connection's ClientHello with the npm package read-tls-client-hello, prints one
// JSON line with what it parsed and its JA3/JA4, then relays the connection,
// untouched, to 127.0.0.1:UPSTREAM_PORT. Exits on SIGTERM.
'use strict';
const net = require('net');
const { readTlsClientHello, calculateJa3, calculateJa4 } = require('read-tls-client-hello');

const upstreamPort = Number(process.argv[2]);
const server = net.createServer(async (client) => {
  client.on('error', () => {});
  let line;
  try {
    const hello = await readTlsClientHello(client);
    line = {
      random: Buffer.from(hello.random).toString('hex'),
      cipherSuites: hello.cipherSuites,
      extensions: hello.extensions.map((e) => e.id),
      ja3: calculateJa3(hello),
      ja4: calculateJa4(hello),
    };
  } catch (err) {
    line = { error: String(err && err.message ? err.message : err) };
  }
  process.stdout.write(JSON.stringify(line) + '\n');
  const up = net.connect(upstreamPort, '127.0.0.1');
  up.on('error', () => client.destroy());
  client.pipe(up);
  up.pipe(client);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
