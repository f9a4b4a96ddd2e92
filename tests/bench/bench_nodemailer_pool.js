// bench_nodemailer_pool: the same work as bench_pool.c with Nodemailer's pool, for
// tests/bench/bench_pool.sh.
//
//   node bench_nodemailer_pool.js HOST PORT CONNECTIONS MAX_MESSAGES MESSAGES FILE
//
// One transport with pool: true, maxConnections CONNECTIONS and maxMessages
// MAX_MESSAGES (0: Infinity); MESSAGES sendMail calls of FILE's bytes as they are
// (raw), from bench@example.org to sink@example.org, all started at once (the pool
// queues them), awaited together. Plain text (ignoreTLS). Prints "sent N of M" on
// stderr; exits 0 when every message was sent. nodemailer comes from
// tests/servers/node_modules (tests/deps.sh installs it).
'use strict';
const fs = require('fs');
const path = require('path');
const nodemailer = require(path.join(__dirname, '..', 'servers', 'node_modules', 'nodemailer'));

async function main() {
  const [host, port, conns, maxMessages, count, file] = process.argv.slice(2);
  if (!file) {
    console.error('usage: bench_nodemailer_pool.js HOST PORT CONNECTIONS MAX_MESSAGES MESSAGES FILE');
    process.exit(2);
  }
  const raw = fs.readFileSync(file);
  const transport = nodemailer.createTransport({
    host, port: Number(port), secure: false, ignoreTLS: true,
    pool: true, maxConnections: Number(conns),
    maxMessages: Number(maxMessages) || Infinity,
  });
  const n = Number(count);
  let sent = 0;
  const jobs = [];
  for (let i = 0; i < n; i++) {
    jobs.push(transport.sendMail({
      envelope: { from: 'bench@example.org', to: ['sink@example.org'] },
      raw,
    }).then(() => { sent++; }, (err) => { if (sent === 0) console.error(String(err)); }));
  }
  await Promise.all(jobs);
  transport.close();
  console.error(`sent ${sent} of ${n}`);
  process.exit(sent === n ? 0 : 1);
}

main();
