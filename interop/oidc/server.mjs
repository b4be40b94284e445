// Loopback OpenID provider harness for Portcullis integration tests.
//
//   node server.mjs --port 0 [--cert server.crt --key server.key] [--exit-on-stdin-eof]
//
// Binds 127.0.0.1 only. With --cert/--key it speaks HTTPS, otherwise plain HTTP.
// Once listening it prints exactly one line to stdout, `LISTENING <port>`, and
// nothing else ever goes to stdout (oidc-provider's console output is routed to
// stderr). See README.md for the admin endpoints and the token request.
//
// Caching headers: oidc-provider 9.x sets no Cache-Control and no ETag on the
// jwks response (`/jwks`, content type application/jwk-set+json) nor on the
// discovery documents, and koa adds no ETag of its own. The harness passes that
// through unchanged, so a client that honours max-age/ETag simply refetches
// every time. Tests that need caching headers can opt in with --jwks-max-age /
// --jwks-etag (off by default); those touch only the jwks response.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as crypto from 'node:crypto';
import { format, parseArgs } from 'node:util';

import { exportJWK, generateKeyPair } from 'jose';

// ---------------------------------------------------------------------------
// stdout discipline. oidc-provider prints notices with console.info (stdout)
// and warnings with console.warn; some fire at import time, so the console is
// patched before the dynamic import below. Its dev-mode notices (in-memory
// adapter, unsupported runtime on Node 20, ...) are dropped unless
// OIDC_HARNESS_VERBOSE=1; everything else goes to stderr.
// ---------------------------------------------------------------------------
const verbose = process.env.OIDC_HARNESS_VERBOSE === '1';
const toStderr = (...args) => {
  const line = format(...args);
  // Strip the ANSI colouring oidc-provider adds when stderr/stdout is a TTY.
  // eslint-disable-next-line no-control-regex
  const plain = line.replace(/\x1b\[[0-9;]*m/g, '');
  if (!verbose && /^oidc-provider (WARNING|NOTICE):/.test(plain)) return;
  process.stderr.write(`${line}\n`);
};
console.log = toStderr;
console.info = toStderr;
console.warn = toStderr;
console.debug = toStderr;

const { default: Provider, errors: oidcErrors } = await import('oidc-provider');

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------
const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    cert: { type: 'string' },
    key: { type: 'string' },
    'jwks-max-age': { type: 'string' },
    'jwks-etag': { type: 'boolean', default: false },
    'exit-on-stdin-eof': { type: 'boolean', default: false },
  },
  strict: true,
});

const port = Number.parseInt(args.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${args.port}`);
  process.exit(2);
}
if (Boolean(args.cert) !== Boolean(args.key)) {
  console.error('--cert and --key must be given together');
  process.exit(2);
}
let jwksMaxAge;
if (args['jwks-max-age'] !== undefined) {
  jwksMaxAge = Number.parseInt(args['jwks-max-age'], 10);
  if (!Number.isInteger(jwksMaxAge) || jwksMaxAge < 0) {
    console.error(`invalid --jwks-max-age ${args['jwks-max-age']}`);
    process.exit(2);
  }
}
const tls = Boolean(args.cert);

// ---------------------------------------------------------------------------
// Provider construction
// ---------------------------------------------------------------------------
const CLIENT_ID = 'portcullis-test';
const CLIENT_SECRET = 'portcullis-test-secret';
const TOKEN_TTL = 300;
const RESOURCE_SCOPE = 'read write';

// resource indicator -> JWS alg of its access tokens
const RESOURCES = new Map([
  ['urn:portcullis:rs256', 'RS256'],
  ['urn:portcullis:ps256', 'PS256'],
  ['urn:portcullis:es256', 'ES256'],
]);

const JWKS_PATH = '/jwks';
const DISCOVERY_PATHS = new Set([
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
]);

const randomKid = () => crypto.randomBytes(16).toString('base64url');

// Three keys, each pinned to one algorithm by its `alg` (RFC 8725 section 3.1: one key,
// one algorithm; the Rust verifier pins keys the same way): an RSA 2048 key for RS256,
// another for PS256, and an EC P-256 key for ES256, each with a fresh random kid.
async function generateSigningKeys() {
  const jwkOf = async (alg, opts) => {
    const pair = await generateKeyPair(alg, { ...opts, extractable: true });
    return { ...(await exportJWK(pair.privateKey)), kid: randomKid(), use: 'sig', alg };
  };
  return [
    await jwkOf('RS256', { modulusLength: 2048 }),
    await jwkOf('PS256', { modulusLength: 2048 }),
    await jwkOf('ES256', {}),
  ];
}

async function buildProvider(issuer) {
  const keys = await generateSigningKeys();
  const provider = new Provider(issuer, {
    jwks: { keys },
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // The tests always send `resource`; no default.
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          const alg = RESOURCES.get(resourceIndicator);
          if (!alg) {
            throw new oidcErrors.InvalidTarget(`unknown resource indicator ${resourceIndicator}`);
          }
          return {
            scope: RESOURCE_SCOPE,
            audience: resourceIndicator,
            accessTokenTTL: TOKEN_TTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg } },
          };
        },
      },
    },
    ttl: { ClientCredentials: TOKEN_TTL },
  });
  // Unexpected failures surface as {"error":"server_error"} responses; log why.
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error:', err));
  return { provider, kids: keys.map((k) => k.kid) };
}

// ---------------------------------------------------------------------------
// HTTP(S) server with admin endpoints in front of oidc-provider
// ---------------------------------------------------------------------------
const stats = { jwks_fetches: 0, discovery_fetches: 0 };
let current; // { provider, kids, callback, host }

function sendJson(res, status, body, extraHeaders = {}) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    ...extraHeaders,
  });
  res.end(payload);
}

// Opt-in caching headers for the jwks response (see header comment). koa
// finishes a JSON response with a single res.end(body) after setting its
// headers, so wrapping res.end is enough to add ours (and answer 304).
function decorateJwksResponse(req, res) {
  if (jwksMaxAge === undefined && !args['jwks-etag']) return;
  const origEnd = res.end.bind(res);
  res.end = (chunk, ...rest) => {
    if (res.statusCode !== 200 || res.headersSent) return origEnd(chunk, ...rest);
    if (jwksMaxAge !== undefined) res.setHeader('cache-control', `public, max-age=${jwksMaxAge}`);
    if (args['jwks-etag'] && chunk && typeof chunk !== 'function') {
      const etag = `"${crypto.createHash('sha256').update(chunk).digest('base64url')}"`;
      res.setHeader('etag', etag);
      const inm = req.headers['if-none-match'];
      if (inm && inm.split(',').map((t) => t.trim().replace(/^W\//, '')).some((t) => t === etag || t === '*')) {
        res.statusCode = 304;
        res.statusMessage = 'Not Modified';
        res.removeHeader('content-length');
        res.removeHeader('content-type');
        return origEnd();
      }
    }
    return origEnd(chunk, ...rest);
  };
}

async function handle(req, res) {
  const path = (req.url || '/').split('?')[0];

  if (path === JWKS_PATH) stats.jwks_fetches += 1;
  if (DISCOVERY_PATHS.has(path)) stats.discovery_fetches += 1;

  if (path.startsWith('/__')) {
    try {
      if (path === '/__rotate') {
        if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' });
        const next = await buildProvider(current.provider.issuer);
        current = { ...current, ...next, callback: next.provider.callback() };
        console.error(`rotated signing keys, new kids: ${next.kids.join(', ')}`);
        return sendJson(res, 200, { kids: next.kids });
      }
      if (path === '/__stats') {
        if (req.method !== 'GET') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
        return sendJson(res, 200, { ...stats });
      }
      if (path === '/__reset_stats') {
        if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'POST' });
        stats.jwks_fetches = 0;
        stats.discovery_fetches = 0;
        return sendJson(res, 200, { ...stats });
      }
      return sendJson(res, 404, { error: 'not_found' });
    } catch (err) {
      console.error(err);
      return sendJson(res, 500, { error: 'server_error', message: String(err?.message ?? err) });
    }
  }

  // oidc-provider (koa, proxy=false) derives endpoint URLs in discovery from
  // the request: scheme from the socket (TLS or not), authority from the Host
  // header. Pin Host to the issuer's authority so discovery always matches the
  // issuer even if a client connected as "localhost:<port>".
  req.headers.host = current.host;
  if (path === JWKS_PATH) decorateJwksResponse(req, res);
  return current.callback(req, res);
}

const server = tls
  ? https.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) })
  : http.createServer();

server.on('request', (req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    else res.destroy();
  });
});
server.on('tlsClientError', (err) => console.error(`tls client error: ${err.message}`));

server.listen(port, '127.0.0.1', async () => {
  try {
    const { port: bound } = server.address();
    const host = `127.0.0.1:${bound}`;
    const issuer = `${tls ? 'https' : 'http'}://${host}`;
    const built = await buildProvider(issuer);
    current = { ...built, callback: built.provider.callback(), host };
    console.error(`issuer ${issuer}, kids: ${built.kids.join(', ')}`);
    process.stdout.write(`LISTENING ${bound}\n`);
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
});
server.on('error', (err) => {
  console.error(`server error: ${err.message}`);
  process.exit(1);
});

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.error(`${signal}: shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

// Opt-in: exit when stdin reaches EOF, so a test that spawns us with a piped
// stdin and then dies (without killing us) does not leave the server behind.
if (args['exit-on-stdin-eof']) {
  process.stdin.on('end', () => shutdown('stdin EOF'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}
