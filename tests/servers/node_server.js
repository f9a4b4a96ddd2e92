'use strict';
// Nodemailer smtp-server for the libsmtp integration tests. Run through node-smtp.sh;
// by hand: node node_server.js --rundir DIR [options] (see node-smtp.sh for options).
//
// Binds 127.0.0.1 on --port (0: any free port) and writes the port it got to
// RUNDIR/node.port. Every accepted message is saved as RUNDIR/node/NNNN.json (envelope)
// and RUNDIR/node/NNNN.eml (content bytes as received, CRLF, dot-unstuffed); the .eml
// is renamed into place last.
//
// Scripted rejections (local part, case-insensitive), as in aiosmtpd_server.py; the
// enhanced status code is the one smtp-server derives from the reply code (none with
// --no-enhanced-status-codes), so two differ from aiosmtpd's (553 and RCPT 451):
//   MAIL FROM blocked@...  -> 553 5.1.3 Sender rejected
//   RCPT TO   unknown@...  -> 550 5.1.1 User unknown
//   RCPT TO   later@...    -> 451 4.3.0 Try again later
//   RCPT TO   full@...     -> 452 4.2.2 Mailbox full
//   header "X-Test-Reject: 554" -> 554 5.6.0 Content rejected
//   header "X-Test-Reject: 451" -> 451 4.3.0 Temporary failure

const fs = require('fs');
const path = require('path');
const { SMTPServer } = require('smtp-server');

function usage(msg) {
    process.stderr.write('node_server.js: ' + msg + '\n');
    process.exit(2);
}

const opts = {
    rundir: null, port: 0, secure: false, starttls: false, tlsCert: null, tlsKey: null,
    authMethods: 'PLAIN,LOGIN', authUser: null, authPassword: null, authToken: null,
    authRequireTls: false, noAuth: false, size: 0, hostname: 'node-smtp.test',
    enhanced: true, dsn: true
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
        if (i + 1 >= argv.length) usage(a + ' needs a value');
        return argv[++i];
    };
    switch (a) {
        case '--rundir': opts.rundir = val(); break;
        case '--port': opts.port = Number(val()); break;
        case '--secure': opts.secure = true; break;
        case '--starttls': opts.starttls = true; break;
        case '--tls-cert': opts.tlsCert = val(); break;
        case '--tls-key': opts.tlsKey = val(); break;
        case '--auth-methods': opts.authMethods = val(); break;
        case '--auth-user': opts.authUser = val(); break;
        case '--auth-password': opts.authPassword = val(); break;
        case '--auth-token': opts.authToken = val(); break;
        case '--auth-require-tls': opts.authRequireTls = true; break;
        case '--no-auth': opts.noAuth = true; break;
        case '--size': opts.size = Number(val()); break;
        case '--hostname': opts.hostname = val(); break;
        case '--no-enhanced-status-codes': opts.enhanced = false; break;
        case '--no-dsn': opts.dsn = false; break;
        default: usage('unknown option ' + a);
    }
}
if (!opts.rundir) usage('--rundir is required');
if ((opts.secure || opts.starttls) && !(opts.tlsCert && opts.tlsKey)) {
    usage('--secure/--starttls need --tls-cert and --tls-key');
}
if (opts.secure && opts.starttls) usage('--secure and --starttls exclude each other');

const outdir = path.join(opts.rundir, 'node');
fs.mkdirSync(outdir, { recursive: true });
// continue after the records of an earlier run in the same RUNDIR
let count = fs.readdirSync(outdir)
    .map(f => /^(\d+)\.(eml|json)$/.exec(f))
    .filter(Boolean)
    .reduce((max, m) => Math.max(max, Number(m[1])), 0);

function localPart(address) {
    const s = String(address || '');
    const at = s.lastIndexOf('@');
    return (at >= 0 ? s.slice(0, at) : s).toLowerCase();
}

function reject(code, text) {
    const err = new Error(text);
    err.responseCode = code;
    return err;
}

// {KEY: value|true} -> ["KEY=value", "KEY"], as aiosmtpd records them
function optionList(args) {
    if (!args) return [];
    return Object.keys(args).map(k => (args[k] === true ? k : k + '=' + args[k]));
}

function headerSection(buf) {
    const s = buf.toString('latin1');
    const m = /\r?\n\r?\n/.exec(s);
    return m ? s.slice(0, m.index + 1) : s;
}

const hasCredentials = Boolean(opts.authUser && (opts.authPassword !== null || opts.authToken !== null));
const disabledCommands = [];
if (!opts.secure && !opts.starttls) disabledCommands.push('STARTTLS');
if (!hasCredentials) disabledCommands.push('AUTH');

const serverOptions = {
    name: opts.hostname,
    banner: 'libsmtp test server (Nodemailer smtp-server)',
    logger: true,
    disableReverseLookup: true,
    // smtp-server 3.21 hides these two by default; a real MTA announces them
    hideENHANCEDSTATUSCODES: !opts.enhanced,
    hideDSN: !opts.dsn,
    secure: opts.secure,
    authMethods: opts.authMethods.split(',').map(s => s.trim().toUpperCase()).filter(Boolean),
    authOptional: opts.noAuth || !hasCredentials,
    allowInsecureAuth: !opts.authRequireTls,
    disabledCommands,
    size: opts.size || 0,

    onAuth(auth, session, callback) {
        let ok = false;
        if (auth.method === 'XOAUTH2') {
            ok = opts.authToken !== null && auth.accessToken === opts.authToken &&
                auth.username === opts.authUser;
            if (!ok) {
                return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'mail' } });
            }
        } else if (auth.method === 'CRAM-MD5') {
            ok = auth.username === opts.authUser && opts.authPassword !== null &&
                auth.validatePassword(opts.authPassword);
        } else {
            ok = auth.username === opts.authUser && opts.authPassword !== null &&
                auth.password === opts.authPassword;
        }
        if (!ok) return callback(reject(535, 'Authentication credentials invalid'));
        callback(null, { user: { name: auth.username, method: auth.method } });
    },

    onMailFrom(address, session, callback) {
        if (localPart(address.address) === 'blocked') {
            return callback(reject(553, 'Sender rejected'));
        }
        callback();
    },

    onRcptTo(address, session, callback) {
        switch (localPart(address.address)) {
            case 'unknown': return callback(reject(550, 'User unknown'));
            case 'later': return callback(reject(451, 'Try again later'));
            case 'full': return callback(reject(452, 'Mailbox full'));
            default: return callback();
        }
    },

    onData(stream, session, callback) {
        const chunks = [];
        stream.on('data', c => chunks.push(c));
        stream.on('error', err => callback(err));
        stream.on('end', () => {
            if (stream.sizeExceeded) {
                return callback(reject(552, 'Message exceeds fixed maximum message size'));
            }
            const content = Buffer.concat(chunks);
            const m = /^x-test-reject:[ \t]*([0-9]{3})[ \t]*\r?$/im.exec(headerSection(content));
            if (m && m[1] === '554') return callback(reject(554, 'Content rejected'));
            if (m && m[1] === '451') return callback(reject(451, 'Temporary failure'));

            count += 1;
            const base = path.join(outdir, String(count).padStart(4, '0'));
            const env = session.envelope;
            const mailArgs = (env.mailFrom && env.mailFrom.args) || {};
            const record = {
                mail_from: env.mailFrom ? env.mailFrom.address : null,
                rcpt_tos: env.rcptTo.map(r => r.address),
                mail_options: optionList(mailArgs),
                rcpt_options: env.rcptTo.map(r => optionList(r.args)),
                auth_user: session.user ? session.user.name : null,
                auth_method: session.user ? session.user.method : null,
                tls: Boolean(session.secure),
                smtputf8: mailArgs.SMTPUTF8 === true,
                transmission_type: session.transmissionType
            };
            fs.writeFileSync(base + '.json.tmp', JSON.stringify(record, null, 1) + '\n');
            fs.writeFileSync(base + '.eml.tmp', content);
            fs.renameSync(base + '.json.tmp', base + '.json');
            fs.renameSync(base + '.eml.tmp', base + '.eml');
            callback(null, 'OK queued as ' + String(count).padStart(4, '0'));
        });
    }
};
if (opts.secure || opts.starttls) {
    serverOptions.key = fs.readFileSync(opts.tlsKey);
    serverOptions.cert = fs.readFileSync(opts.tlsCert);
}

const server = new SMTPServer(serverOptions);
server.on('error', err => {
    process.stderr.write('server error: ' + (err && err.stack || err) + '\n');
});
server.listen(opts.port, '127.0.0.1', () => {
    const port = server.server.address().port;
    const portFile = path.join(opts.rundir, 'node.port');
    fs.writeFileSync(portFile + '.tmp', port + '\n');
    fs.renameSync(portFile + '.tmp', portFile);
    process.stderr.write('listening on 127.0.0.1:' + port + '\n');
});

function stop() {
    process.stderr.write('stopping\n');
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
