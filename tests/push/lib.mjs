// Shared pieces of the push tests: a real `herald serve --test-clock` on
// loopback, its API, a self-signed TLS certificate for the stand-ins, and
// JWT checks done with node's crypto (an implementation independent of
// Herald's OpenSSL code).
import { spawn, execFileSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HERALD = process.env.HERALD_BIN || new URL('../../build/herald', import.meta.url).pathname;
export const ADMIN = 'hak_' + 'p'.repeat(40);

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

export class Herald {
  constructor(dir, args = [], env = {}) {
    this.dir = dir;
    this.args = args;
    this.env = env;
  }

  start() {
    this.proc = spawn(HERALD, ['serve', '--listen', '127.0.0.1:0', '--database', join(this.dir, 'h.db'),
                               '--test-clock', '--log-level', 'warn', ...this.args],
                      { env: { ...process.env, HERALD_ADMIN_KEY: ADMIN, ...this.env },
                        stdio: ['ignore', 'pipe', 'pipe'] });
    this.stderr = '';
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    return new Promise((resolve, reject) => {
      let out = '';
      this.proc.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/listening on (http:\/\/\S+)/);
        if (m) { this.url = m[1]; resolve(this); }
      });
      this.proc.on('exit', (code) => reject(new Error('herald exited ' + code + ': ' + this.stderr)));
    });
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return this.proc && this.proc.exitCode;
    const exited = new Promise((r) => this.proc.on('exit', (code) => r(code)));
    this.proc.kill('SIGTERM');
    return exited;
  }

  async api(method, path, auth, body) {
    const r = await fetch(this.url + path, {
      method,
      headers: { Authorization: 'Bearer ' + auth, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }

  // Moves the test clock and sends everything due; answers Herald's now (ms).
  async settle(seconds = 0) {
    const r = await this.api('POST', '/v1/test/clock', ADMIN, { advance_s: seconds });
    if (r.status !== 200) throw new Error('clock: ' + JSON.stringify(r.body));
    return Date.parse(r.body.now);
  }

  // A workspace with one practitioner; answers {key, token, member}.
  async practice(id, member = 'm_sam') {
    let r = await this.api('POST', '/v1/workspaces', ADMIN, { id, name: 'Harbour Physio', timezone: 'Europe/Dublin' });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    const key = r.body.api_key;
    r = await this.api('PUT', '/v1/members/' + member, key, { name: 'Sam Lee', role: 'practitioner', locale: 'en-IE' });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    const token = (await this.api('POST', `/v1/members/${member}/tokens`, key, {})).body.token;
    return { key, token, member };
  }

  async booking(key, member, id, extra = {}) {
    const r = await this.api('POST', '/v1/events', key, {
      id, type: 'appointment.booked', occurred_at: '2026-11-21T09:30:00Z', source: 'booking_page',
      actor: { kind: 'client', id: 'cl_1', name: 'Dana Reyes' },
      data: { appointment: { id: 'ap_' + id, starts_at: '2026-11-24T14:30:00Z', staff_ids: [member] },
              client: { id: 'cl_1', name: 'Dana Reyes' }, ...extra },
    });
    if (r.status !== 202) throw new Error(JSON.stringify(r.body));
    return r.body;
  }

  async pushes(key) {
    const r = await this.api('GET', '/v1/deliveries?channel=push&limit=100', key);
    return r.body.items;
  }
}

// A self-signed certificate for 127.0.0.1 and localhost (P-256), as the
// stand-ins' TLS identity; Herald trusts it through --push-ca-file.
export function makeCert(dir) {
  const key = join(dir, 'tls-key.pem'), cert = join(dir, 'tls-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                           '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext',
                           'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert],
               { stdio: 'ignore' });
  return { key: readFileSync(key), cert: readFileSync(cert), certFile: cert };
}

export function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

// Decodes a compact JWS and checks its signature with key (a KeyObject):
// ES256 as raw R||S (ieee-p1363), RS256 as PKCS#1 v1.5. Throws if bad.
export function verifyJwt(token, key) {
  const [h, c, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(c, 'base64url'));
  const data = Buffer.from(h + '.' + c);
  const sig = Buffer.from(s, 'base64url');
  const ok = header.alg === 'ES256'
    ? verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)
    : verify('sha256', data, key, sig);
  if (!ok) throw new Error('bad JWT signature');
  return { header, claims };
}

// The P-256 public key of an uncompressed point (a VAPID k= value).
export function p256Key(pointB64) {
  const point = Buffer.from(pointB64, 'base64url');
  return createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(1, 33)), y: b64url(point.subarray(33, 65)) },
    format: 'jwk',
  });
}

export function cleanup(dir) {
  rmSync(dir, { recursive: true, force: true });
}
