/**
 * kill -9 of Sluice at exact points of its two-phase writes to the master (issue 9, item 6), and
 * the post_drain hook's environment and output (item 2).
 *
 * The simulator runs in this process on its real clock; Sluice runs as a child process with its
 * store on disk and talks to the master through a proxy (maintenance-proxy.ts) that SIGKILLs the
 * child once the master has answered 200 and before the answer is relayed: the master has taken
 * the write, Sluice never heard of it. Sluice is then restarted on the same store.
 */
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startSim, type Sim } from '../../src/sim/index.js';
import { api, liveByInstance, quietLogger, realDelay, tmpDir, type Env } from './workload-helpers.js';
import { allRunning, hostStates, job, masterJson } from './maintenance-helpers.js';
import { spawnSluice, waitFor, type Child, type SpawnOptions } from './maintenance-child.js';
import { startMasterProxy, type MasterProxy } from './maintenance-proxy.js';

describe('e2e: kill -9 at the exact points of maintenance two-phase writes', function () {
  this.timeout(90_000);
  let sim: Sim;
  let proxy: MasterProxy;
  let children: ChildProcess[] = [];

  beforeEach(async () => {
    sim = await startSim({ agents: 4, racks: 2, seed: 11, taskStartupDelayMs: 100, logger: quietLogger() });
    proxy = await startMasterProxy(sim.url);
  });
  afterEach(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children = [];
    await proxy.close();
    await sim.close();
  });

  const start = async (storeDir: string, o: SpawnOptions = {}): Promise<Child> => {
    const c = await spawnSluice(proxy.url, storeDir, o);
    children.push(c.proc);
    return c;
  };
  /** Kill the child once the master has answered 200 to `method path`, before Sluice hears it. */
  const killOn = (method: string, p: string, c: () => Child | undefined): { fired: () => boolean } => {
    let fired = false;
    proxy.onAnswer = async (req, status) => {
      if (fired || req.method !== method || req.path !== p || status !== 200) return;
      fired = true;
      const child = c()!;
      child.proc.kill('SIGKILL');
      await child.exited;
    };
    return { fired: () => fired };
  };
  const downOnMaster = async (h: string): Promise<boolean> =>
    ((await masterJson({ sim } as Env, '/master/maintenance/status')).down_machines ?? []).some((m: { hostname: string }) => m.hostname === h);

  it('killed after the master took the schedule: on restart the window is recognised as Sluice\'s own and the drain resumes and finishes', async () => {
    const store = tmpDir('sluice-kill-sched-');
    let c: Child | undefined = await start(store);
    const web = job('web', 3, { constraints: { host_unique: true }, kill_grace_period_seconds: 1 });
    expect((await api(c.url, 'POST', '/api/v1/jobs', web)).status).to.equal(201);
    await waitFor('web RUNNING', () => allRunning({ url: c!.url } as Env, 'web', 3));
    const fw: string = (await api(c.url, 'GET', '/api/v1/status')).body.framework_id;
    const host = sim.groundTruth().find((t) => t.frameworkId === fw && t.taskId.startsWith('web.'))!.hostname;

    const k = killOn('POST', '/master/maintenance/schedule', () => c);
    const answer = await api(c.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host] }).catch((e: Error) => e);
    expect(answer, 'the operator never got an answer').to.be.instanceOf(Error);
    expect(k.fired()).to.equal(true);
    proxy.onAnswer = undefined;
    const sched = await masterJson({ sim } as Env, '/master/maintenance/schedule');
    expect((sched.windows ?? []).flatMap((w: { machine_ids: Array<{ hostname: string }> }) => w.machine_ids.map((m) => m.hostname))).to.deep.equal([host]);

    c = await start(store);
    await waitFor(`${host} DOWN in Sluice and on the master`, async () => (await hostStates({ url: c!.url } as Env)).get(host)?.state === 'DOWN' && (await downOnMaster(host)), 40_000);
    expect(c.output()).to.contain('"maintenance_window_adopted"');
    expect(c.output()).not.to.contain('removed from the master');
    // the drain really happened: web runs 3 times, none on the host
    await waitFor('web RUNNING off the host', () => allRunning({ url: c!.url } as Env, 'web', 3));
    const live = [...liveByInstance(sim, fw).values()].flat();
    expect(live).to.have.length(3);
    expect(sim.groundTruth().filter((t) => t.frameworkId === fw && t.hostname === host)).to.deep.equal([]);
    // one window, the one of the (unanswered) request, still on the master with the machine down
    const after = await masterJson({ sim } as Env, '/master/maintenance/schedule');
    expect(after.windows).to.have.length(1);
  });

  it('killed after the master took machine down: on restart the host is DOWN and post_drain runs exactly once', async () => {
    const store = tmpDir('sluice-kill-down-');
    const marker = path.join(store, '..', `${path.basename(store)}-marker`);
    let c: Child | undefined = await start(store);
    const host = sim.agents()[1]!.hostname;
    const k = killOn('POST', '/master/machine/down', () => c);
    const r = await api(c.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host], post_drain: `echo "$SLUICE_HOST ran" >> '${marker}'` });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    await waitFor('killed at machine down', () => k.fired(), 30_000);
    await c.exited;
    proxy.onAnswer = undefined;
    expect(await downOnMaster(host), 'the master took machine down').to.equal(true);
    expect(fs.existsSync(marker), 'post_drain had not run').to.equal(false);

    c = await start(store);
    await waitFor('post_drain result recorded', async () => (await hostStates({ url: c!.url } as Env)).get(host)?.['post_drain_result'] !== undefined, 30_000);
    await realDelay(2500); // more ticks and a down check: nothing runs again
    const h = (await hostStates({ url: c.url } as Env)).get(host)!;
    expect(h.state).to.equal('DOWN');
    expect(h['post_drain']).to.equal('succeeded');
    expect(fs.readFileSync(marker, 'utf8')).to.equal(`${host} ran\n`);
    expect(c.output()).to.contain('machine down posted by Sluice before a restart');
  });

  it('killed while post_drain runs: after the restart it is NOT run again, the host shows post_drain "interrupted"', async () => {
    const store = tmpDir('sluice-kill-hook-');
    const marker = path.join(store, '..', `${path.basename(store)}-marker`);
    let c: Child = await start(store);
    const host = sim.agents()[2]!.hostname;
    const hook = `echo start >> '${marker}'; sleep 2; echo end >> '${marker}'`;
    const r = await api(c.url, 'POST', '/api/v1/hosts/maintenance/start', { hosts: [host], post_drain: hook });
    expect(r.status, JSON.stringify(r.body)).to.equal(202);
    await waitFor('the hook started', () => fs.existsSync(marker), 30_000);
    c.proc.kill('SIGKILL');
    await c.exited;

    c = await start(store);
    await waitFor('post_drain interrupted', async () => (await hostStates({ url: c.url } as Env)).get(host)?.['post_drain'] === 'interrupted', 20_000);
    await realDelay(3000); // the orphaned hook finishes on its own; Sluice starts no other
    expect(fs.readFileSync(marker, 'utf8').split('\n').filter(Boolean)).to.deep.equal(['start', 'end']);
    const h = (await hostStates({ url: c.url } as Env)).get(host)!;
    expect(h.state).to.equal('DOWN');
    expect((h['post_drain_result'] as { interrupted?: boolean }).interrupted).to.equal(true);
    expect(c.output()).to.contain('"post_drain_interrupted"');
  });
});

describe('e2e: post_drain hook environment and output carry no secret', function () {
  this.timeout(60_000);
  let sim: Sim;
  let child: ChildProcess | undefined;

  before(async () => {
    sim = await startSim({ agents: 3, racks: 1, seed: 3, taskStartupDelayMs: 100, logger: quietLogger() });
  });
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await sim.close();
  });

  it('the hook gets PATH/HOME/LANG, SLUICE_HOST/IP/AGENT_ID and the listed names only; GET /api/v1/hosts, the log and the store hold no secret and no foreign variable', async () => {
    const store = tmpDir('sluice-hook-env-');
    const SECRET = 'fw-secret-7f3a9c2e';
    const TOKEN = 'api-token-51be0d84';
    const FOREIGN = 'foreign-value-c0ffee42';
    const secretFile = path.join(store, '..', `${path.basename(store)}-secret`);
    fs.writeFileSync(secretFile, `the token is ${TOKEN} and the secret ${SECRET}\n`);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      SLUICE_PRINCIPAL: 'sluice',
      SLUICE_SECRET: SECRET,
      SLUICE_API_TOKEN: TOKEN,
      FOREIGN_VAR: FOREIGN,
      PASS_ME: 'passed-through-ok',
      LEAKY: `postgres://u:${SECRET}@db`,
    };
    const c = await spawnSluice(sim.url, store, { env, args: ['--post-drain-env', 'PASS_ME,LEAKY,SLUICE_SECRET,SLUICE_API_TOKEN'] });
    child = c.proc;
    const authed = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(c.url + p, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, text: await res.text() };
    };
    const host = sim.agents()[0]!.hostname;
    // the hook prints its whole environment, then a file holding the secrets (as a careless script would)
    const r = await authed('POST', '/api/v1/hosts/maintenance/start', { hosts: [host], post_drain: `env; cat '${secretFile}'` });
    expect(r.status, r.text).to.equal(202);
    let text = '';
    await waitFor('post_drain result', async () => {
      text = (await authed('GET', '/api/v1/hosts')).text;
      return JSON.parse(text).hosts.some((h: { post_drain_result?: unknown }) => h.post_drain_result);
    }, 30_000);
    const rec = JSON.parse(text).hosts.find((h: { hostname: string }) => h.hostname === host);
    expect(rec.post_drain, rec.post_drain_result?.output_tail).to.equal('succeeded');
    const tail: string = rec.post_drain_result.output_tail;
    const a = sim.agents()[0]!;
    const vars = new Map(tail.split('\n').filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(vars.get('SLUICE_HOST')).to.equal(host);
    expect(vars.get('SLUICE_IP')).to.equal(a.ip);
    expect(vars.get('SLUICE_AGENT_ID')).to.equal(a.id);
    expect(vars.get('PASS_ME')).to.equal('passed-through-ok');
    expect(vars.get('PATH')).to.equal(process.env['PATH']);
    for (const n of ['SLUICE_SECRET', 'SLUICE_API_TOKEN', 'LEAKY', 'FOREIGN_VAR', 'SLUICE_PRINCIPAL', 'SLUICE_LOG_FORMAT']) expect(vars.has(n), `${n} passed to the hook`).to.equal(false);
    expect(tail).to.contain('the token is *** and the secret ***');
    await realDelay(500); // the last log lines flushed

    const storeText = fs.readdirSync(store).filter((f) => fs.statSync(path.join(store, f)).isFile()).map((f) => fs.readFileSync(path.join(store, f), 'latin1')).join('\n');
    for (const [where, t] of [['GET /api/v1/hosts', text], ['the log', c.output()], ['the store', storeText]] as const) {
      for (const s of [SECRET, TOKEN, FOREIGN]) expect(t.includes(s), `${where} contains ${s}`).to.equal(false);
    }
    expect(c.output()).to.contain('"post_drain_output"');
    expect(storeText).to.contain('passed-through-ok');
  });
});
