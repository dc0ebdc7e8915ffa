/**
 * Hostile tokens files, as real files read by the real configuration and API server: every problem
 * is a clear startup error naming the line, and no message ever contains a token.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Router } from '../../src/api/router.js';
import { startApiServer } from '../../src/api/server.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { tmpDir } from '../e2e/workload-helpers.js';
import { call, cli, newToken, people, recordingLogger, sha256hex, tokensFileText, writeTokensFile } from './helpers.js';

function fileWith(text: string, mode = 0o600): string {
  const file = path.join(tmpDir('sluice-tokens-'), 'tokens');
  fs.writeFileSync(file, text);
  fs.chmodSync(file, mode);
  return file;
}

function configError(file: string): string {
  try {
    loadConfig({ 'api-tokens-file': file, store: path.join(tmpDir('sluice-cfg-'), 's') }, {});
  } catch (e) {
    expect(e).to.be.instanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('ops: hostile tokens files are clear errors at startup, never echoing a token', () => {
  const good = () => `alice admin sha256:${sha256hex(newToken())}\n`;

  const cases: Array<{ what: string; text: string; expect: RegExp; secret?: string }> = (() => {
    const plain = newToken();
    const t = newToken();
    return [
      { what: 'a plaintext token', text: `alice admin ${plain}\n`, expect: /line 1: the third field must be sha256:<64 hex digits>.*plaintext tokens are not accepted/, secret: plain },
      { what: 'a plaintext token with a sha256: prefix', text: `alice admin sha256:${plain}\n`, expect: /line 1: the third field must be sha256/, secret: plain },
      { what: 'two fields', text: `${good()}bob operator\n`, expect: /line 2: expected 3 fields/ },
      { what: 'an unknown role', text: `bob superuser sha256:${sha256hex(t)}\n`, expect: /line 1: role must be one of viewer, operator, admin/ },
      { what: 'a duplicate name', text: `${good()}ALICE viewer sha256:${sha256hex(newToken())}\n`, expect: /line 2: the name "ALICE" is already used on line 1/ },
      { what: 'one token for two names', text: `a admin sha256:${sha256hex(t)}\nb viewer sha256:${sha256hex(t)}\n`, expect: /line 2: b has the same token as a \(line 1\)/ },
      { what: 'the empty token', text: `alice admin sha256:${sha256hex('')}\n`, expect: /line 1: alice has the empty token/ },
      { what: 'a well-known weak token', text: `alice admin sha256:${sha256hex('changeme')}\n`, expect: /line 1: alice has a well-known weak token/ },
      { what: 'the name as token', text: `alice admin sha256:${sha256hex('alice')}\n`, expect: /line 1: alice's token is its own name/ },
      { what: 'a reserved name', text: `local admin sha256:${sha256hex(t)}\n`, expect: /line 1: the name "local" is reserved/ },
      { what: 'a bad name', text: `al/ice admin sha256:${sha256hex(t)}\n`, expect: /line 1: name must be/ },
      { what: 'no tokens at all', text: '# nobody yet\n\n', expect: /no tokens in it/ },
      { what: 'JSON instead of lines', text: '{"alice": "admin"}\n', expect: /line 1: expected 3 fields/ },
      { what: 'binary garbage', text: 'a\0b\n', expect: /not a text file/ },
    ];
  })();

  for (const c of cases) {
    it(c.what, () => {
      const msg = configError(fileWith(c.text));
      expect(msg).to.match(c.expect);
      if (c.secret) expect(msg).to.not.contain(c.secret);
    });
  }

  it('every problem of a file is reported at once, with its line', () => {
    const msg = configError(fileWith(`a admin ${newToken()}\nb nobody sha256:${sha256hex(newToken())}\nc\n`));
    expect(msg).to.match(/3 problem\(s\)/);
    expect(msg).to.match(/line 1:.*\n.*line 2:.*\n.*line 3:/);
  });

  it('missing, a directory, writable by everyone, too large: refused', () => {
    expect(configError('/nonexistent/sluice-tokens')).to.match(/not found/);
    expect(configError(tmpDir('sluice-tokdir-'))).to.match(/not a regular file/);
    expect(configError(fileWith(good(), 0o666))).to.match(/writable by every user.*chmod 600/);
    expect(configError(fileWith(`# ${'x'.repeat(1024 * 1024)}\n${good()}`))).to.match(/larger than 1048576 bytes/);
  });

  it('comments, blank lines, tabs and CRLF are fine; a world-readable file starts with a warning', async () => {
    const [v, o, a] = people();
    const file = fileWith(`# the ops team\r\n\r\n${v!.name}\t${v!.role}\tsha256:${sha256hex(v!.token)}   # Grafana\r\n${o!.name} ${o!.role} sha256:${sha256hex(o!.token).toUpperCase()}\n${a!.name} ${a!.role} sha256:${sha256hex(a!.token)}\n`, 0o644);
    const cfg = loadConfig({ 'api-tokens-file': file, store: path.join(tmpDir('sluice-cfg-'), 's') }, {});
    const log = recordingLogger();
    const router = new Router();
    router.get('/who', (req) => ({ status: 200, body: req.principal }), { role: 'viewer' });
    const api = await startApiServer({ listen: '127.0.0.1:0', router, access: cfg.apiAccess, logger: log.logger });
    try {
      for (const p of [v!, o!, a!]) expect((await call(api.url, 'GET', '/who', { token: p.token })).body).to.deep.equal({ name: p.name, role: p.role });
      expect(log.text()).to.contain('api_tokens_file_permissions');
      expect(log.text()).to.contain('readable by every user');
      for (const p of [v!, o!, a!]) expect(log.text()).to.not.contain(p.token);
    } finally {
      await api.close();
    }
  });

  it('the single --api-token may not also be in the tokens file (whose would the actions be?)', async () => {
    const ids = people();
    const file = writeTokensFile(ids);
    let err: Error | undefined;
    try {
      await startApiServer({ listen: '127.0.0.1:0', router: new Router(), token: ids[1]!.token, access: { tokensFile: file } });
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).to.match(/line 3 \(otto\) has the same token as --api-token/);
    expect(err?.message).to.not.contain(ids[1]!.token);
    expect(tokensFileText(ids)).to.contain('otto');
  });
});

describe('ops: sluice token (lines for the tokens file)', () => {
  it('token new NAME ROLE: a fresh token whose line Sluice accepts and which then authenticates as NAME', async () => {
    const r = await cli(['token', 'new', 'carol', 'operator', '--json'], {});
    expect(r.code, r.err).to.equal(0);
    const made = JSON.parse(r.out) as { token: string; line: string };
    expect(made.token).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(made.line).to.equal(`carol operator sha256:${sha256hex(made.token)}`);
    const file = fileWith(`${made.line}\n`);
    const router = new Router();
    router.get('/who', (req) => ({ status: 200, body: req.principal }), { role: 'viewer' });
    const api = await startApiServer({ listen: '127.0.0.1:0', router, access: { tokensFile: file } });
    try {
      expect((await call(api.url, 'GET', '/who', { token: made.token })).body).to.deep.equal({ name: 'carol', role: 'operator' });
    } finally {
      await api.close();
    }
    const other = JSON.parse((await cli(['token', 'new', 'carol', 'operator', '--json'], {})).out) as { token: string };
    expect(other.token).to.not.equal(made.token);
  });

  it('a bad name or role is a usage error; hash takes no argument (shell history)', async () => {
    const role = await cli(['token', 'new', 'carol', 'root'], {});
    expect(role.code).to.equal(2);
    expect(role.err).to.contain('role must be one of viewer, operator, admin');
    expect((await cli(['token', 'new', 'local', 'admin'], {})).code).to.equal(2);
    expect((await cli(['token', 'hash', 'secret-on-the-command-line'], {})).code).to.equal(2);
  });

  it('token hash reads the token from stdin (a child process) and prints its sha256 line field', () => {
    const t = newToken();
    const r = spawnSync(process.execPath, [path.resolve('dist/src/cli/main.js'), 'token', 'hash'], { input: `${t}\n`, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(`sha256:${sha256hex(t)}`);
    const two = spawnSync(process.execPath, [path.resolve('dist/src/cli/main.js'), 'token', 'hash'], { input: 'two words\n', encoding: 'utf8' });
    expect(two.status).to.equal(2);
  });
});
