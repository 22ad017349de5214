/**
 * The apps part over HTTP on every dialect: publishing signed bundles, app sets, what a terminal
 * may see and fetch (through the real protocol: activation, sign-on, MAC-signed requests on a
 * listening server), rollouts with their stages, thresholds and transitions, update reports,
 * maintenance windows, scope and audit.
 */
import type { AddressInfo } from 'node:net';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { verifyEd25519 } from '../crypto/index.js';
import type { AppsDb } from './apps-tables.js';
import { fetchTerminalBundle, fetchTerminalBundles } from './apps-terminal.js';
import { nextWindowStart, parseWindow } from './apps-window.js';
import { BundleCache } from './app-versions.js';
import { MAX_BUNDLE_BYTES, buildBundle, bundleDigest, verifyBundle } from './bundles.js';
import { TerminalApiError, TerminalClient, generateDeviceKey } from './client.js';
import { assignStages, recordUpdateReports, resumeRollout, sweepRolloutDeadlines } from './rollouts.js';

interface Device {
  id: string;
  serial: string;
  client: TerminalClient;
}

let serialCounter = 0;

describe.each(DIALECTS)('apps, app sets and rollouts on %s', (dialect) => {
  let h: Harness;
  let baseUrl: string;
  let merchantId: string;
  let groupId: string;
  let appId: string;
  let infoAppId: string;
  let setId: string;
  const fleet: Device[] = [];
  let outsider: Device;
  let signingKey: Buffer;
  const v1 = buildBundle('cashier', '1.0.0', { 'index.html': '<h1>收银 1.0.0</h1>', 'assets/app.js': 'console.log("1.0.0")' });
  const v11 = buildBundle('cashier', '1.1.0', { 'index.html': '<h1>收银 1.1.0</h1>', 'assets/app.js': 'console.log("1.1.0")' });

  const req = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, token = h.adminToken) =>
    h.app.inject({ method, url: `/api/v1${url}`, headers: auth(token), ...(payload ? { payload } : {}) });
  const upload = (id: string, bytes: Buffer, query = '', token = h.adminToken) =>
    h.app.inject({ method: 'POST', url: `/api/v1/apps/${id}/versions${query}`, headers: auth(token, { 'content-type': 'application/json' }), payload: bytes });
  const ok = <T = Record<string, unknown>>(res: { statusCode: number; body: string; json(): unknown }, status = 200): T => {
    expect(res.statusCode, res.body).toBe(status);
    return res.json() as T;
  };
  const errorCode = (res: { statusCode: number; json(): unknown }): string => (res.json() as { error: { code: string } }).error.code;
  const terminalError = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
      return 'ok';
    } catch (error) {
      if (error instanceof TerminalApiError) return error.code;
      throw error;
    }
  };

  /** A signed raw request (the bundle is bytes, not a JSON reply). */
  const download = async (d: Device, path: string): Promise<Response> => {
    const { url, init } = await d.client.prepare('GET', path);
    return fetch(url, init);
  };

  /** A registered, activated, signed-on terminal of the merchant. */
  const device = async (): Promise<Device> => {
    const serial = `APP${process.pid}X${++serialCounter}`;
    const t = ok<{ id: string }>(await req('POST', '/terminals', { serial, model: 'Sunmi V2s', kind: 'smart_pos', owner_party_id: merchantId }), 201);
    const code = ok<{ code: string }>(await req('POST', `/terminals/${t.id}/activation-codes`, {}), 201).code;
    const client = new TerminalClient({ baseUrl });
    await client.activate(code, serial, await generateDeviceKey());
    await client.signOn();
    return { id: t.id, serial, client };
  };

  const addToGroup = async (group: string, devices: Device[]) => {
    ok(await req('POST', `/terminal-groups/${group}/members`, { terminal_ids: devices.map((d) => d.id) }));
  };

  const rollout = async (id: string) => ok<{ state: string; pause_reason: string | null; current_stage: number; awaiting_approval: boolean; stages: { total: number; notified: number; downloading: number; installed: number; failed: number; pending: number; completed_at: number | null }[] }>(await req('GET', `/rollouts/${id}`));
  const report = (d: Device, body: object) => d.client.request<{ recorded: boolean; rolloutId: string | null }>('POST', '/api/v1/terminal/updates', body);
  const appsOf = async (d: Device) => (await d.client.request<{ apps: { code: string; version: string; digest: string; signature: string; size: number; rolloutId: string | null; downloadPath: string }[] }>('GET', '/api/v1/terminal/apps')).apps;
  const updateNotices = async (d: Device) => (await d.client.commands()).filter((c) => c.kind === 'update_available');

  beforeAll(async () => {
    h = await createHarness(dialect);
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    signingKey = await h.crypto.signingPublicKey();
    merchantId = ok<{ id: string }>(await req('POST', '/parties', { kind: 'business', name: '幸福便利店', roles: ['merchant'], org_id: h.bankId }), 201).id;
    groupId = ok<{ id: string }>(await req('POST', '/terminal-groups', { org_id: h.bankId, name: '城阳便利店' }), 201).id;
    for (let i = 0; i < 20; i++) fleet.push(await device());
    await addToGroup(groupId, fleet);
    outsider = await device();
  });
  afterAll(async () => h?.close());

  it('publishes a bundle: checks it, digests and signs it; a version never changes', async () => {
    appId = ok<{ id: string }>(await req('POST', '/apps', { code: 'cashier', name_zh: '收银', name_en: 'Cashier', scenario: 'convenience_store' }), 201).id;
    expect(errorCode(await req('POST', '/apps', { code: 'cashier', name_zh: '收银', name_en: 'Cashier', scenario: 'common' }))).toBe('app_exists');

    const published = ok<{ id: string; version: string; digest: string; signature: string; size: number; created: boolean; approved: boolean }>(await upload(appId, v1, '?approve=true&release_notes_zh=首个版本'), 201);
    expect(published).toMatchObject({ version: '1.0.0', digest: bundleDigest(v1), size: v1.length, created: true, approved: true, entry: 'index.html', file_count: 2, release_notes_zh: '首个版本' });
    // The signature verifies with the platform's public key over app, version and digest.
    expect(verifyEd25519(signingKey, Buffer.from(`XW1-BUNDLE\ncashier\n1.0.0\n${published.digest}`), Buffer.from(published.signature, 'base64url'))).toBe(true);
    expect(verifyBundle(v1, { app: 'cashier', version: '1.0.0', digest: published.digest, signature: published.signature }, signingKey)).toEqual({ ok: true });
    // Bytes changed after signing are refused by the check every terminal makes.
    const tampered = Buffer.from(v1);
    // One character of index.html's base64 content changed (the bundle stays well-formed).
    const at = tampered.indexOf('"index.html":"') + 15;
    tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
    expect(verifyBundle(tampered, { app: 'cashier', version: '1.0.0', digest: published.digest, signature: published.signature }, signingKey)).toEqual({ ok: false, reason: 'digest_mismatch' });

    // The same bytes again: the same version, nothing new. Other bytes under 1.0.0: refused.
    expect(ok(await upload(appId, v1), 200)).toMatchObject({ id: published.id, created: false });
    const other = buildBundle('cashier', '1.0.0', { 'index.html': '<h1>other</h1>' });
    expect(errorCode(await upload(appId, other))).toBe('app_version_exists');
    expect(errorCode(await upload(appId, buildBundle('cashier', '1.0.0+build.7', { 'index.html': 'x' })))).toBe('app_version_exists');
    // Refused bundles: another app's, another version than asked, path traversal, oversize, not a bundle.
    expect(errorCode(await upload(appId, buildBundle('info', '1.0.0', { 'index.html': 'x' })))).toBe('bundle_mismatch');
    expect(errorCode(await upload(appId, v11, '?version=1.2.0'))).toBe('bundle_mismatch');
    expect(errorCode(await upload(appId, buildBundle('cashier', '1.0.1', { 'index.html': 'x', '../../etc/passwd': 'x' })))).toBe('bundle_invalid');
    expect(errorCode(await upload(appId, Buffer.alloc(MAX_BUNDLE_BYTES + 1, 0x20)))).toBe('bundle_too_large');
    expect(errorCode(await upload(appId, Buffer.from('{"format":"xiaowei-bundle/1"}')))).toBe('bundle_invalid');
    expect(errorCode(await upload('no-such-app', v11))).toBe('app_not_found');
    expect(errorCode(await upload(appId, v11, '?approve=yes'))).toBe('validation_failed');

    expect(ok(await upload(appId, v11), 201)).toMatchObject({ version: '1.1.0', approved: false });
    ok(await upload(appId, buildBundle('cashier', '1.1.0-rc.1', { 'index.html': 'rc' })), 201);
    const versions = ok<{ version: string }[]>(await req('GET', `/apps/${appId}/versions`));
    expect(versions.map((v) => v.version)).toEqual(['1.1.0', '1.1.0-rc.1', '1.0.0']);
    expect(ok<{ latest_version: string; latest_approved_version: string }[]>(await req('GET', '/apps'))).toEqual([
      expect.objectContaining({ code: 'cashier', latest_version: '1.1.0', latest_approved_version: '1.0.0', version_count: 3 }),
    ]);

    // Staff download the exact bytes.
    const staffCopy = await req('GET', `/apps/${appId}/versions/1.0.0/bundle`);
    expect(staffCopy.statusCode).toBe(200);
    expect(staffCopy.rawPayload.equals(v1)).toBe(true);

    // Branch staff read the catalogue but cannot publish; every publication is audited.
    const staff = await h.userToken('branch_staff', h.bankId);
    expect(ok<unknown[]>(await req('GET', '/apps', undefined, staff))).toHaveLength(1);
    expect(errorCode(await upload(appId, v11, '', staff))).toBe('forbidden');
    const audit = ok<{ items: { action: string; outcome: string }[] }>(await req('GET', '/audit?limit=100'));
    const publishes = audit.items.filter((a) => a.action === 'app.version.publish');
    expect(publishes.filter((a) => a.outcome === 'ok').length).toBeGreaterThanOrEqual(3);
    expect(publishes.some((a) => a.outcome === 'failed:413')).toBe(true);
  });

  it('lets a terminal see and fetch only the apps of its sets', async () => {
    infoAppId = ok<{ id: string }>(await req('POST', '/apps', { code: 'info', name_zh: '终端信息', name_en: 'Terminal info', scenario: 'common' }), 201).id;
    ok(await upload(infoAppId, buildBundle('info', '0.1.0', { 'index.html': 'info' }), '?approve=true'), 201);

    const sets = ok<{ id: string; code: string }[]>(await req('GET', '/app-sets'));
    expect(sets.map((s) => s.code).sort()).toEqual(['community_mall', 'convenience_store', 'produce_buying', 'restaurant', 'village_service_point']);
    setId = sets.find((s) => s.code === 'convenience_store')!.id;
    // cashier follows the latest approved version; the set reaches the group's terminals.
    expect(ok(await req('PUT', `/app-sets/${setId}/items/${appId}`, { version: null }))).toMatchObject({ items: [{ app_code: 'cashier', version: null }] });
    expect(errorCode(await req('PUT', `/app-sets/${setId}/items/${appId}`, { version: '9.9.9' }))).toBe('app_version_not_found');
    const assigned = ok<{ id: string }>(await req('POST', `/app-sets/${setId}/assignments`, { group_id: groupId }), 201);
    expect(ok(await req('POST', `/app-sets/${setId}/assignments`, { group_id: groupId }), 200)).toMatchObject({ id: assigned.id });
    expect(errorCode(await req('POST', `/app-sets/${setId}/assignments`, { group_id: 'no-such-group' }))).toBe('app_target_not_found');
    expect(errorCode(await req('POST', `/app-sets/${setId}/assignments`, { group_id: groupId, terminal_id: fleet[0]!.id }))).toBe('validation_failed');

    const [t] = fleet;
    const apps = await appsOf(t!);
    expect(apps).toEqual([expect.objectContaining({ code: 'cashier', version: '1.0.0', digest: bundleDigest(v1), size: v1.length, rolloutId: null, downloadPath: '/api/v1/terminal/apps/cashier/versions/1.0.0/bundle' })]);
    const res = await download(t!, apps[0]!.downloadPath);
    expect(res.status).toBe(200);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(verifyBundle(bytes, { app: 'cashier', version: '1.0.0', digest: apps[0]!.digest, signature: apps[0]!.signature }, signingKey)).toEqual({ ok: true });

    // Not offered to this terminal: an unapproved version, an app outside its sets, an unknown app —
    // all the same answer. A terminal without sets sees nothing and fetches nothing.
    for (const path of ['/api/v1/terminal/apps/cashier/versions/1.1.0/bundle', '/api/v1/terminal/apps/info/versions/0.1.0/bundle', '/api/v1/terminal/apps/nosuch/versions/1.0.0/bundle']) {
      const refused = await download(t!, path);
      expect(refused.status, path).toBe(404);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('app_not_found');
    }
    expect(await appsOf(outsider)).toEqual([]);
    expect((await download(outsider, apps[0]!.downloadPath)).status).toBe(404);
    // Without the MAC headers there is no terminal at all.
    expect((await fetch(`${baseUrl}${apps[0]!.downloadPath}`)).status).toBe(401);
    // Downloads resolved as one group (BundleFetcher) get each the answer it would get alone.
    const grouped = await fetchTerminalBundles(
      h.tdb.database.kysely as Kysely<AppsDb>,
      new BundleCache(),
      [
        { terminalId: t!.id, appCode: 'cashier', version: '1.0.0' },
        { terminalId: outsider.id, appCode: 'cashier', version: '1.0.0' },
        { terminalId: t!.id, appCode: 'nosuch', version: '1.0.0' },
        { terminalId: t!.id, appCode: 'info', version: '0.1.0' },
        { terminalId: t!.id, appCode: 'cashier', version: '1.1.0' },
        { terminalId: fleet[1]!.id, appCode: 'cashier', version: '1.0.0' },
      ],
      Date.now() * 1000,
    );
    expect(grouped.map((g) => ('ok' in g ? g.ok.digest : (g.error as { code: string }).code))).toEqual([apps[0]!.digest, 'app_not_found', 'app_not_found', 'app_not_found', 'app_not_found', apps[0]!.digest]);
    const together = await Promise.all([download(fleet[2]!, apps[0]!.downloadPath), download(outsider, apps[0]!.downloadPath), download(fleet[3]!, apps[0]!.downloadPath)]);
    expect(together.map((r) => r.status)).toEqual([200, 404, 200]);

    // A set assigned to the terminal itself adds to its group's.
    const single = ok<{ id: string }>(await req('POST', '/app-sets', { code: 'info_only', name_zh: '信息', name_en: 'Info', scenario: 'village_service_point' }), 201).id;
    ok(await req('PUT', `/app-sets/${single}/items/${infoAppId}`, { version: '0.1.0' }));
    const direct = ok<{ id: string }>(await req('POST', `/app-sets/${single}/assignments`, { terminal_id: outsider.id }), 201);
    expect((await appsOf(outsider)).map((a) => a.code)).toEqual(['info']);
    expect(ok<{ assignments: unknown[] }>(await req('GET', `/app-sets/${single}`)).assignments).toHaveLength(1);
    ok(await req('DELETE', `/app-sets/${single}/assignments/${direct.id}`));
    expect(await appsOf(outsider)).toEqual([]);
  });

  let rolloutId: string;
  const stages = [10, 50, 100];

  it('fixes rollout stages deterministically, in the right proportions, and notifies the first', async () => {
    expect(errorCode(await req('POST', '/rollouts', { app_id: appId, version: '1.1.0', group_id: groupId, stages: [10, 50] }))).toBe('rollout_invalid');
    expect(errorCode(await req('POST', '/rollouts', { app_id: appId, version: '1.1.0' }))).toBe('rollout_invalid');
    expect(errorCode(await req('POST', '/rollouts', { app_id: appId, version: '7.0.0', group_id: groupId }))).toBe('app_version_not_found');
    expect(errorCode(await req('POST', '/rollouts', { app_id: appId, version: '1.1.0', group_id: groupId, error_threshold: 101 }))).toBe('validation_failed');

    const created = ok<{ id: string; state: string; current_stage: number }>(await req('POST', '/rollouts', { app_id: appId, version: '1.1.0', group_id: groupId, stages, error_threshold: 20 }), 201);
    rolloutId = created.id;
    expect(created).toMatchObject({ state: 'created', current_stage: -1, success_threshold: 95, auto_advance: true });
    // Nothing reaches terminals before approval.
    expect((await appsOf(fleet[0]!))[0]!.version).toBe('1.0.0');

    const started = ok<{ state: string; stages: { total: number; notified: number }[] }>(await req('POST', `/rollouts/${rolloutId}/approve`));
    expect(started).toMatchObject({ state: 'running', current_stage: 0 });
    expect(started.stages.map((s) => s.total)).toEqual([2, 8, 10]);
    expect(started.stages.map((s) => s.notified)).toEqual([2, 0, 0]);

    const targets = ok<{ items: { terminal_id: string; stage_no: number; status: string }[]; total: number }>(await req('GET', `/rollouts/${rolloutId}/targets?limit=100`));
    expect(targets.total).toBe(20);
    const expected = assignStages(fleet.map((d) => d.id), stages);
    for (const t of targets.items) expect(t.stage_no).toBe(expected.get(t.terminal_id));

    const inStage = (k: number) => fleet.filter((d) => expected.get(d.id) === k);
    for (const d of inStage(0)) {
      const [notice] = await updateNotices(d);
      expect(notice?.payload).toMatchObject({ app: 'cashier', version: '1.1.0', digest: bundleDigest(v11), size: v11.length, rolloutId, downloadPath: '/api/v1/terminal/apps/cashier/versions/1.1.0/bundle', downloadSpreadS: 0 });
      expect((await appsOf(d))[0]).toMatchObject({ version: '1.1.0', rolloutId });
      expect((await download(d, '/api/v1/terminal/apps/cashier/versions/1.1.0/bundle')).status).toBe(200);
    }
    const later = inStage(1)[0]!;
    expect(await updateNotices(later)).toEqual([]);
    expect((await appsOf(later))[0]).toMatchObject({ version: '1.0.0', rolloutId: null });
    expect((await download(later, '/api/v1/terminal/apps/cashier/versions/1.1.0/bundle')).status).toBe(404);
    // A terminal cannot report into a rollout that has not reached it.
    expect(await terminalError(report(outsider, { app: 'cashier', version: '1.1.0', status: 'installed', rolloutId }))).toBe('rollout_not_found');
  });

  it('counts reports once and advances when a stage reaches its success threshold', async () => {
    const expected = assignStages(fleet.map((d) => d.id), stages);
    const [a, b] = fleet.filter((d) => expected.get(d.id) === 0);
    expect(await report(a!, { app: 'cashier', version: '1.1.0', status: 'downloading', rolloutId })).toEqual({ recorded: true, rolloutId });
    // The same report again changes nothing; a report without the rollout id is matched to it.
    expect(await report(a!, { app: 'cashier', version: '1.1.0', status: 'downloading', rolloutId })).toEqual({ recorded: false, rolloutId });
    expect(await report(a!, { app: 'cashier', version: '1.1.0', status: 'installed' })).toEqual({ recorded: true, rolloutId });
    let r = await rollout(rolloutId);
    expect(r.stages[0]).toMatchObject({ total: 2, notified: 1, downloading: 0, installed: 1, failed: 0, pending: 0, completed_at: null });
    expect(r.current_stage).toBe(0);

    await report(b!, { app: 'cashier', version: '1.1.0', status: 'installed', rolloutId });
    r = await rollout(rolloutId);
    expect(r.stages[0]!.completed_at).not.toBeNull();
    expect(r).toMatchObject({ state: 'running', current_stage: 1 });
    expect(r.stages[1]).toMatchObject({ total: 8, notified: 8 });
    for (const d of fleet.filter((x) => expected.get(x.id) === 1)) expect(await updateNotices(d)).toHaveLength(1);
    expect(await terminalError(report(a!, { app: 'cashier', version: '1.0.0', status: 'installed', rolloutId }))).toBe('rollout_invalid');
  });

  it('pauses automatically at its error threshold', async () => {
    const expected = assignStages(fleet.map((d) => d.id), stages);
    const stage1 = fleet.filter((d) => expected.get(d.id) === 1);
    // Threshold 20 % of 8 terminals: one failure (12.5 %) is tolerated, two (25 %) are not.
    await report(stage1[0]!, { app: 'cashier', version: '1.1.0', status: 'failed', detail: 'digest mismatch', rolloutId });
    expect(await rollout(rolloutId)).toMatchObject({ state: 'running', pause_reason: null });
    await report(stage1[1]!, { app: 'cashier', version: '1.1.0', status: 'downloading', rolloutId });
    await report(stage1[1]!, { app: 'cashier', version: '1.1.0', status: 'failed', rolloutId });
    const r = await rollout(rolloutId);
    expect(r).toMatchObject({ state: 'paused', pause_reason: 'error_threshold', current_stage: 1 });
    expect(r.stages[1]).toMatchObject({ notified: 6, downloading: 0, failed: 2, installed: 0 });
    // Paused: reports still count, nothing advances.
    for (const d of stage1.slice(2)) await report(d, { app: 'cashier', version: '1.1.0', status: 'installed', rolloutId });
    expect(await rollout(rolloutId)).toMatchObject({ state: 'paused', current_stage: 1 });
  });

  it('moves through approve, pause, resume, cancel and rollback, refusing illegal moves', async () => {
    expect(errorCode(await req('POST', `/rollouts/${rolloutId}/pause`))).toBe('rollout_illegal_transition');
    expect(errorCode(await req('POST', `/rollouts/${rolloutId}/approve`))).toBe('rollout_illegal_transition');
    expect(ok(await req('POST', `/rollouts/${rolloutId}/resume`))).toMatchObject({ state: 'running', pause_reason: null, current_stage: 1 });
    // 6 of 8 installed (75 %) is below 95 %: the next stage needs force.
    expect(errorCode(await req('POST', `/rollouts/${rolloutId}/approve`))).toBe('rollout_stage_incomplete');
    expect(ok(await req('POST', `/rollouts/${rolloutId}/pause`))).toMatchObject({ state: 'paused', pause_reason: 'manual' });
    ok(await req('POST', `/rollouts/${rolloutId}/resume`));
    expect(ok(await req('POST', `/rollouts/${rolloutId}/approve?force=true`))).toMatchObject({ state: 'running', current_stage: 2 });
    expect(ok(await req('POST', `/rollouts/${rolloutId}/cancel`))).toMatchObject({ state: 'cancelled' });
    for (const move of ['approve', 'pause', 'resume', 'cancel']) expect(errorCode(await req('POST', `/rollouts/${rolloutId}/${move}`)), move).toBe('rollout_illegal_transition');
    // Cancelled keeps what started stages received.
    expect((await appsOf(fleet[0]!))[0]!.version).toBe('1.1.0');

    const rolledBack = ok<{ state: string; notified: number }>(await req('POST', `/rollouts/${rolloutId}/rollback`));
    expect(rolledBack).toMatchObject({ state: 'rolled_back', notified: 20 });
    for (const d of fleet.slice(0, 3)) {
      expect((await appsOf(d))[0]).toMatchObject({ version: '1.0.0', rolloutId: null });
      const notices = await updateNotices(d);
      expect(notices.at(-1)?.payload).toMatchObject({ app: 'cashier', version: '1.0.0', rollback: true, rolloutId });
      expect((await download(d, '/api/v1/terminal/apps/cashier/versions/1.1.0/bundle')).status).toBe(404);
    }
    expect(errorCode(await req('POST', `/rollouts/${rolloutId}/rollback`))).toBe('rollout_illegal_transition');
    expect(errorCode(await req('POST', '/rollouts/no-such-rollout/pause'))).toBe('rollout_not_found');

    const audit = ok<{ items: { action: string; target: string | null }[] }>(await req('GET', '/audit?limit=200'));
    const actions = new Set(audit.items.filter((a) => a.target === rolloutId).map((a) => a.action));
    for (const a of ['rollout.create', 'rollout.approve', 'rollout.pause', 'rollout.resume', 'rollout.cancel', 'rollout.rollback']) expect(actions, a).toContain(a);
  });

  it('waits for approval between stages when auto-advance is off, and finishes', async () => {
    ok(await upload(appId, buildBundle('cashier', '1.1.1', { 'index.html': '1.1.1' })), 201);
    const id = ok<{ id: string }>(await req('POST', '/rollouts', { app_id: appId, version: '1.1.1', terminal_ids: fleet.slice(0, 4).map((d) => d.id), stages: [50, 100], auto_advance: false }), 201).id;
    ok(await req('POST', `/rollouts/${id}/approve`));
    const expected = assignStages(fleet.slice(0, 4).map((d) => d.id), [50, 100]);
    for (const d of fleet.slice(0, 4).filter((x) => expected.get(x.id) === 0)) await report(d, { app: 'cashier', version: '1.1.1', status: 'installed' });
    expect(await rollout(id)).toMatchObject({ state: 'running', current_stage: 0, awaiting_approval: true });
    expect(ok(await req('POST', `/rollouts/${id}/approve`))).toMatchObject({ current_stage: 1, awaiting_approval: false });
    for (const d of fleet.slice(0, 4).filter((x) => expected.get(x.id) === 1)) await report(d, { app: 'cashier', version: '1.1.1', status: 'installed' });
    expect(await rollout(id)).toMatchObject({ state: 'finished', current_stage: 1 });
    // A finished rollout keeps its terminals on its version; the others stay on the set's.
    expect((await appsOf(fleet[0]!))[0]!.version).toBe('1.1.1');
    expect((await appsOf(fleet[10]!))[0]!.version).toBe('1.0.0');
    // Nobody left to upgrade: those four are already there.
    const again = ok<{ id: string }>(await req('POST', '/rollouts', { app_id: appId, version: '1.1.1', terminal_ids: fleet.slice(0, 4).map((d) => d.id) }), 201).id;
    expect(errorCode(await req('POST', `/rollouts/${again}/approve`))).toBe('rollout_no_targets');
    expect(ok<{ total: number }>(await req('GET', `/rollouts?app_id=${appId}&state=finished`)).total).toBe(1);
  });

  it('advances once under concurrent reports, and pauses a stage past its deadline', async () => {
    const devices = fleet.slice(10, 20);
    const id = ok<{ id: string }>(await req('POST', '/rollouts', { app_id: appId, version: '1.1.1', terminal_ids: devices.map((d) => d.id), stages: [50, 100], stage_deadline_s: 3600 }), 201).id;
    ok(await req('POST', `/rollouts/${id}/approve`));
    const expected = assignStages(devices.map((d) => d.id), [50, 100]);
    // Every first-stage terminal reports twice at once (a retry racing its original): one group
    // under the rollout's lock records each once.
    const first = devices.filter((d) => expected.get(d.id) === 0);
    const results = await Promise.all([...first, ...first].map((d) => report(d, { app: 'cashier', version: '1.1.1', status: 'installed', rolloutId: id })));
    expect(results.filter((r) => r.recorded)).toHaveLength(first.length);
    const r = await rollout(id);
    expect(r).toMatchObject({ state: 'running', current_stage: 1 });
    expect(r.stages.map((s) => [s.total, s.installed, s.notified])).toEqual([[5, 5, 0], [5, 0, 5]]);
    // Exactly one notice per terminal of the next stage, however many reports raced to start it.
    for (const d of devices.filter((x) => expected.get(x.id) === 1)) expect((await updateNotices(d)).filter((c) => c.payload.rolloutId === id)).toHaveLength(1);

    // An hour later (injected clock) the stage is overdue and the rollout pauses.
    const deps = { db: h.tdb.database.kysely as Kysely<AppsDb>, dialect, commands: h.terminals.commands };
    expect(await sweepRolloutDeadlines({ ...deps, now: () => Date.now() * 1000 + 60_000_000 })).toEqual([]);
    expect(await sweepRolloutDeadlines({ ...deps, now: () => Date.now() * 1000 + 3_601_000_000 })).toEqual([id]);
    expect(await rollout(id)).toMatchObject({ state: 'paused', pause_reason: 'deadline' });
    // Resumed then, the overdue stage gets a fresh deadline instead of pausing again at once.
    const later = Date.now() * 1000 + 3_601_000_000;
    expect(await resumeRollout({ ...deps, now: () => later }, id)).toMatchObject({ state: 'running' });
    expect(await sweepRolloutDeadlines({ ...deps, now: () => later + 60_000_000 })).toEqual([]);
    expect(await sweepRolloutDeadlines({ ...deps, now: () => later + 3_601_000_000 })).toEqual([id]);
    expect(ok(await req('POST', `/rollouts/${id}/cancel`))).toMatchObject({ state: 'cancelled' });
    expect(errorCode(await req('POST', '/rollouts', { app_id: appId, version: '1.1.1', terminal_ids: [devices[0]!.id, 'no-such-terminal'] }))).toBe('app_target_not_found');
  });

  it('records a group of reports in one transaction exactly as one at a time', async () => {
    ok(await upload(appId, buildBundle('cashier', '1.1.2', { 'index.html': '1.1.2' })), 201);
    const devices = fleet.slice(4, 10);
    const id = ok<{ id: string }>(await req('POST', '/rollouts', { app_id: appId, version: '1.1.2', terminal_ids: devices.map((d) => d.id), stages: [100], error_threshold: 50 }), 201).id;
    ok(await req('POST', `/rollouts/${id}/approve`));
    const deps = { db: h.tdb.database.kysely as Kysely<AppsDb>, dialect, commands: h.terminals.commands, now: () => Date.now() * 1000 };
    const at = (status: 'downloading' | 'installed' | 'failed', d: (typeof devices)[number], extra: object = {}) => ({ terminalId: d.id, report: { app: 'cashier', version: '1.1.2', status, rolloutId: id, ...extra } });
    // One group: every terminal downloading (one twice), a bad app, a version the rollout does not bring, one failure.
    const first = await recordUpdateReports(deps, [
      ...devices.slice(0, 5).map((d) => at('downloading', d)),
      at('downloading', devices[0]!),
      { terminalId: devices[0]!.id, report: { app: 'no-such-app', version: '1.1.2', status: 'installed' as const } },
      at('installed', devices[1]!, { version: '1.1.0' }),
      at('failed', devices[5]!, { detail: 'digest mismatch' }),
    ]);
    expect(first.map((r) => ('ok' in r ? r.ok.recorded : (r.error as { code?: string }).code))).toEqual([true, true, true, true, true, false, 'app_not_found', 'rollout_invalid', true]);
    let r = await rollout(id);
    expect(r.stages[0]).toMatchObject({ total: 6, notified: 0, downloading: 5, installed: 0, failed: 1 });
    expect(r.state).toBe('running');
    // The next group: all six installed (the failed one retried), the rollout finishes once.
    const second = await recordUpdateReports(deps, [...devices.map((d) => at('installed', d)), at('installed', devices[2]!)]);
    expect(second.map((x) => 'ok' in x && x.ok.recorded)).toEqual([true, true, true, true, true, true, false]);
    r = await rollout(id);
    expect(r.stages[0]).toMatchObject({ total: 6, notified: 0, downloading: 0, installed: 6, failed: 0 });
    expect(r.state).toBe('finished');
  });

  it('holds rollout downloads to the group’s maintenance window', async () => {
    // A window that opens in three hours, Beijing time.
    const minute = Math.floor((Date.now() / 60_000 + 480) % 1440);
    const hhmm = (m: number) => `${String(Math.floor((m % 1440) / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
    const windowText = `${hhmm(minute + 180)}-${hhmm(minute + 240)}`;
    const night = ok<{ id: string }>(await req('POST', '/terminal-groups', { org_id: h.bankId, name: '夜间升级', maintenance_window: windowText }), 201).id;
    const [w1, w2] = [await device(), await device()];
    await addToGroup(night, [w1, w2]);
    ok(await req('POST', `/app-sets/${setId}/assignments`, { group_id: night }), 201);
    ok(await upload(appId, buildBundle('cashier', '1.2.0', { 'index.html': '1.2.0' })), 201);

    const id = ok<{ id: string }>(await req('POST', '/rollouts', { app_id: appId, version: '1.2.0', group_id: night, stages: [100] }), 201).id;
    ok(await req('POST', `/rollouts/${id}/approve`));
    const opening = nextWindowStart(parseWindow(windowText)!, Date.now() * 1000);
    // The notice waits for the window: stored with not_before, not delivered yet.
    const stored = ok<{ items: { kind: string; not_before: number | null }[] }>(await req('GET', `/terminals/${w1.id}/commands`));
    const notice = stored.items.find((c) => c.kind === 'update_available')!;
    expect(Math.abs(notice.not_before! - opening)).toBeLessThan(120_000_000);
    expect(await updateNotices(w1)).toEqual([]);
    // The rollout's version is offered but held; the set's version is not held.
    expect((await appsOf(w1))[0]).toMatchObject({ version: '1.2.0', rolloutId: id });
    const held = await download(w1, '/api/v1/terminal/apps/cashier/versions/1.2.0/bundle');
    expect(held.status).toBe(409);
    const body = (await held.json()) as { error: { code: string; data: { windows: string[]; notBefore: number } } };
    expect(body.error).toMatchObject({ code: 'app_outside_maintenance_window', data: { windows: [windowText] } });
    expect(Math.abs(body.error.data.notBefore - opening / 1000)).toBeLessThan(120_000);
    expect((await download(w1, '/api/v1/terminal/apps/cashier/versions/1.0.0/bundle')).status).toBe(200);

    // With the clock inside the window the same download goes through.
    const db = h.tdb.database.kysely as Kysely<AppsDb>;
    const cache = new BundleCache();
    const inside = opening + 60_000_000;
    expect((await fetchTerminalBundle(db, cache, w2.id, 'cashier', '1.2.0', inside)).digest).toBe(bundleDigest(buildBundle('cashier', '1.2.0', { 'index.html': '1.2.0' })));
    await expect(fetchTerminalBundle(db, cache, w2.id, 'cashier', '1.2.0', opening - 60_000_000)).rejects.toMatchObject({ code: 'app_outside_maintenance_window' });

    // A rollout that ignores windows is not held.
    ok(await upload(appId, buildBundle('cashier', '1.2.1', { 'index.html': '1.2.1' })), 201);
    const urgent = ok<{ id: string }>(await req('POST', '/rollouts', { app_id: appId, version: '1.2.1', group_id: night, stages: [100], ignore_maintenance_window: true }), 201).id;
    ok(await req('POST', `/rollouts/${urgent}/approve`));
    expect((await updateNotices(w2)).map((c) => c.payload.version)).toEqual(['1.2.1']);
    expect((await download(w2, '/api/v1/terminal/apps/cashier/versions/1.2.1/bundle')).status).toBe(200);
  });

  it('answers bad input with typed errors and changes nothing', async () => {
    const before = ok<unknown[]>(await req('GET', '/apps')).length;
    const cases: [Promise<{ statusCode: number; json(): unknown }>, string][] = [
      [req('POST', '/apps', { code: 'x1', name_zh: 'x', name_en: 'x', scenario: 'common', extra: 1 }), 'validation_failed'],
      [req('POST', '/apps', { code: 'X1', name_zh: 'x', name_en: 'x', scenario: 'common' }), 'validation_failed'],
      [req('POST', '/apps', { code: 'x1', name_zh: 'x', name_en: 'x', scenario: 'casino' }), 'validation_failed'],
      [req('POST', '/apps', { code: 'x1', name_zh: 'x\u0000', name_en: 'x', scenario: 'common' }), 'validation_failed'],
      [req('POST', '/rollouts', { app_id: appId, version: '1.1.1', group_id: groupId, stages: ['a'] }), 'validation_failed'],
      [req('POST', '/rollouts', { app_id: appId, version: 1, group_id: groupId }), 'validation_failed'],
      [req('PUT', `/app-sets/${setId}/items/${appId}`, { version: 1 }), 'validation_failed'],
      [req('PUT', `/app-sets/${setId}/items/${appId}`, {}), 'validation_failed'],
      [req('PUT', `/app-sets/no-such-set/items/${appId}`, { version: null }), 'app_set_not_found'],
      [req('GET', '/rollouts?state=exploded'), 'validation_failed'],
      [req('GET', `/apps/${appId}/versions/1.0`), 'validation_failed'],
      [req('GET', `/apps/${appId}/versions/1.0.00`), 'app_version_not_found'],
      [req('POST', '/app-sets', { code: 'convenience_store', name_zh: '重复', name_en: 'Dup', scenario: 'restaurant' }), 'app_set_exists'],
      [h.app.inject({ method: 'POST', url: `/api/v1/apps/${appId}/versions`, headers: auth(h.adminToken, { 'content-type': 'text/plain' }), payload: 'hello' }), 'unsupported_media_type'],
      [h.app.inject({ method: 'POST', url: `/api/v1/apps/${appId}/versions`, headers: auth(h.adminToken, { 'content-type': 'application/octet-stream' }), payload: Buffer.alloc(0) }), 'bundle_invalid'],
    ];
    for (const [res, code] of cases) {
      const r = await res;
      expect(r.statusCode, JSON.stringify(r.json())).toBeLessThan(500);
      expect(errorCode(r), JSON.stringify(r.json())).toBe(code);
    }
    expect(await terminalError(report(fleet[0]!, { app: 'cashier', version: '1.0.0', status: 'done' }))).toBe('validation_failed');
    expect(await terminalError(report(fleet[0]!, { app: 'cashier', version: '1.0.0', status: 'installed', extra: true }))).toBe('validation_failed');
    expect(await terminalError(report(fleet[0]!, { app: 'nosuch', version: '1.0.0', status: 'installed' }))).toBe('app_not_found');
    expect(ok<unknown[]>(await req('GET', '/apps')).length).toBe(before);
  });

  it('shows rollouts only within the staff member’s organisations', async () => {
    const branch = ok<{ id: string }>(await req('POST', '/organisations', { parent_id: h.bankId, kind: 'branch', code: `BR${dialect}`, name: '城阳支行' }), 201).id;
    const branchStaff = await h.userToken('branch_staff', branch);
    expect(ok<{ total: number }>(await req('GET', '/rollouts', undefined, branchStaff)).total).toBe(0);
    expect(errorCode(await req('GET', `/rollouts/${rolloutId}`, undefined, branchStaff))).toBe('rollout_not_found');
    expect(errorCode(await req('POST', '/rollouts', { app_id: appId, version: '1.2.1', group_id: groupId }, branchStaff))).toBe('forbidden');
    expect(ok<{ total: number }>(await req('GET', '/rollouts')).total).toBeGreaterThanOrEqual(4);
  });
});
