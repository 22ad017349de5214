/**
 * The fleet over HTTP on every dialect: terminal records and their scope, lock/unlock/retire,
 * parameters (validation, merge, commands), groups, online detection, heartbeat history, the
 * summary and the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/dialects.js';
import { auth, createHarness, type Harness } from '../../test/harness.js';
import { PARAM_DEFAULTS } from './params.js';
import {
  bindDevice,
  buildWorld,
  commandsOf,
  expectError,
  fleetDb,
  newTerminal,
  serial,
  type FleetWorld,
} from './test-support/fleet-testkit.js';

describe.each(DIALECTS)('fleet on %s', (dialect) => {
  let h: Harness;
  let w: FleetWorld;
  beforeAll(async () => {
    h = await createHarness(dialect);
    w = await buildWorld(h);
  });
  afterAll(async () => h?.close());

  const get = (token: string, url: string) => h.app.inject({ method: 'GET', url: `/api/v1${url}`, headers: auth(token) });
  const post = (token: string, url: string, payload: object = {}) =>
    h.app.inject({ method: 'POST', url: `/api/v1${url}`, headers: auth(token), payload });
  const patch = (token: string, url: string, payload: object) =>
    h.app.inject({ method: 'PATCH', url: `/api/v1${url}`, headers: auth(token), payload });
  const put = (token: string, url: string, payload: object) =>
    h.app.inject({ method: 'PUT', url: `/api/v1${url}`, headers: auth(token), payload });

  it('registers, reads, changes and lists terminals', async () => {
    const sn = serial('p2mi');
    const res = await post(w.tokens.staffA, '/terminals', {
      serial: sn,
      model: 'Sunmi P2',
      kind: 'smart_pos',
      owner_party_id: w.merchantA,
      region_code: '370202001',
      lat_e6: 36_067_108,
      lng_e6: 120_382_639,
      tags: ['vip', '便利店', 'vip'],
    });
    expect(res.statusCode, res.body).toBe(201);
    const t = res.json();
    expect(t).toMatchObject({
      serial: sn.toUpperCase(),
      status: 'registered',
      org_id: w.branchA,
      owner_party_id: w.merchantA,
      region_code: '370202001',
      lat_e6: 36_067_108,
      lng_e6: 120_382_639,
      tags: ['vip', '便利店'],
      device_bound: false,
      online: false,
      activated_at: null,
      last_seen_at: null,
      heartbeat_interval_s: PARAM_DEFAULTS.heartbeat_interval_s,
    });

    const detail = await get(w.tokens.staffA, `/terminals/${t.id}`);
    expect(detail.statusCode, detail.body).toBe(200);
    expect(detail.json()).toMatchObject({ id: t.id, groups: [], params: {}, last_heartbeat: null });

    // The same serial in another case is the same device.
    expectError(
      await post(w.tokens.staffA, '/terminals', { serial: sn.toLowerCase(), model: 'X', kind: 'tablet', owner_party_id: w.merchantA }),
      'terminal_serial_exists',
    );
    expectError(
      await post(w.tokens.staffA, '/terminals', { serial: serial(), model: 'X', kind: 'tablet', owner_party_id: w.customerA }),
      'terminal_owner_invalid',
    );
    expectError(
      await post(w.tokens.staffA, '/terminals', { serial: serial(), model: 'X', kind: 'tablet', owner_party_id: 'no-such-party' }),
      'terminal_owner_invalid',
    );
    expectError(
      await post(w.tokens.staffA, '/terminals', {
        serial: serial(),
        model: 'X',
        kind: 'tablet',
        owner_party_id: w.merchantA,
        region_code: '370299999',
      }),
      'terminal_region_unknown',
    );
    expectError(
      await post(w.tokens.staffA, '/terminals', { serial: serial(), model: 'X', kind: 'tablet', owner_party_id: w.merchantA, lat_e6: 1 }),
      'validation_failed',
    );

    // An agent at a service point owns terminals too; its organisation comes along.
    const agentTerminal = await newTerminal(h, w.tokens.staffA, w.agentA, { kind: 'tablet', tags: ['agent'] });
    expect((await get(w.tokens.staffA, `/terminals/${agentTerminal.id}`)).json()).toMatchObject({ org_id: w.pointA, kind: 'tablet' });

    const changed = await patch(w.tokens.staffA, `/terminals/${t.id}`, {
      model: 'Sunmi P2 Pro',
      tags: ['vip'],
      lat_e6: null,
      lng_e6: null,
      owner_party_id: w.merchantA2,
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json()).toMatchObject({
      model: 'Sunmi P2 Pro',
      tags: ['vip'],
      lat_e6: null,
      lng_e6: null,
      owner_party_id: w.merchantA2,
      org_id: w.branchA,
    });
    expectError(await patch(w.tokens.staffA, `/terminals/${t.id}`, { owner_party_id: w.merchantB }), 'terminal_owner_invalid');
    // A serial may be corrected while no device is bound, not after.
    const fixed = serial('FIX');
    expect((await patch(w.tokens.staffA, `/terminals/${t.id}`, { serial: fixed })).json()).toMatchObject({ serial: fixed });
    expectError(await patch(w.tokens.staffA, `/terminals/${t.id}`, { serial: agentTerminal.serial }), 'terminal_serial_exists');
    await bindDevice(h, agentTerminal.id);
    expectError(await patch(w.tokens.staffA, `/terminals/${agentTerminal.id}`, { serial: serial() }), 'terminal_status_conflict');

    const byTag = await get(w.tokens.staffA, '/terminals?tag=vip');
    expect(byTag.json().items.map((i: { id: string }) => i.id)).toEqual([t.id]);
    expect((await get(w.tokens.staffA, '/terminals?tag=vi')).json().total).toBe(0);
    expect(
      (await get(w.tokens.staffA, `/terminals?search=${fixed.slice(-8).toLowerCase()}`)).json().items.map((i: { id: string }) => i.id),
    ).toEqual([t.id]);
    expect((await get(w.tokens.staffA, '/terminals?region=370202')).json().items.map((i: { id: string }) => i.id)).toEqual([t.id]);
    expect(
      (await get(w.tokens.staffA, `/terminals?owner_party_id=${w.agentA}&status=active&kind=tablet`))
        .json()
        .items.map((i: { id: string }) => i.id),
    ).toEqual([agentTerminal.id]);
    expect((await get(w.tokens.staffA, '/terminals?search=%25')).json().total).toBe(0);
    const page = await get(w.tokens.staffA, '/terminals?limit=1&offset=1');
    expect(page.json()).toMatchObject({ total: 2 });
    expect(page.json().items).toHaveLength(1);
  });

  it('keeps each actor to its own terminals', async () => {
    const a = await newTerminal(h, w.tokens.staffA, w.merchantA);
    const b = await newTerminal(h, w.tokens.staffB, w.merchantB);
    // Another branch's staff: the terminal does not exist for them.
    expectError(await get(w.tokens.staffB, `/terminals/${a.id}`), 'not_found');
    expectError(await patch(w.tokens.staffB, `/terminals/${a.id}`, { model: 'stolen' }), 'not_found');
    expectError(await post(w.tokens.staffB, `/terminals/${a.id}/lock`), 'not_found');
    expectError(await post(w.tokens.staffB, `/terminals/${a.id}/activation-codes`), 'not_found');
    expectError(await put(w.tokens.staffB, `/terminals/${a.id}/params`, { txn_limit_fen: 1 }), 'not_found');
    expectError(await get(w.tokens.staffB, `/terminals/${a.id}/heartbeats`), 'not_found');
    expectError(await get(w.tokens.staffB, `/terminals/${a.id}/effective-params`), 'not_found');
    expectError(
      await post(w.tokens.staffB, '/terminals', { serial: serial(), model: 'X', kind: 'phone', owner_party_id: w.merchantA }),
      'terminal_owner_invalid',
    );
    const listB = (await get(w.tokens.staffB, '/terminals?limit=500')).json().items.map((i: { id: string }) => i.id);
    expect(listB).toContain(b.id);
    expect(listB).not.toContain(a.id);
    // The bank's staff see both.
    const listAll = (await get(w.tokens.auditor, '/terminals?limit=500')).json().items.map((i: { id: string }) => i.id);
    expect(listAll).toEqual(expect.arrayContaining([a.id, b.id]));
    // A merchant owner sees its own terminals and reads nothing else; it changes nothing.
    const own = (await get(w.tokens.ownerA, '/terminals?limit=500')).json();
    expect(own.items.length).toBeGreaterThan(0);
    expect(own.items.every((i: { owner_party_id: string }) => i.owner_party_id === w.merchantA)).toBe(true);
    expect((await get(w.tokens.ownerA, `/terminals/${a.id}`)).statusCode).toBe(200);
    expect((await get(w.tokens.ownerA, `/terminals/${a.id}/effective-params`)).statusCode).toBe(200);
    expectError(await get(w.tokens.ownerA, `/terminals/${b.id}`), 'not_found');
    expectError(await get(w.tokens.ownerB, `/terminals/${a.id}`), 'not_found');
    expectError(await post(w.tokens.ownerA, `/terminals/${a.id}/lock`), 'forbidden');
    expectError(
      await post(w.tokens.ownerA, '/terminals', { serial: serial(), model: 'X', kind: 'phone', owner_party_id: w.merchantA }),
      'forbidden',
    );
    expectError(await post(w.tokens.auditor, `/terminals/${a.id}/lock`), 'forbidden');
    expect((await get(w.tokens.ownerA, '/terminal-groups')).json()).toEqual({ items: [], total: 0 });
    const ownSummary = (await get(w.tokens.ownerA, '/terminals/summary')).json();
    expect(ownSummary.total).toBe(own.total);
    expectError(await h.app.inject({ method: 'GET', url: '/api/v1/terminals' }), 'unauthenticated');
  });

  it('locks, unlocks and retires through the state machine, with commands to bound devices', async () => {
    // Never activated: lock and unlock return to registered; no device, no command.
    const fresh = await newTerminal(h, w.tokens.staffA, w.merchantA);
    const locked = await post(w.tokens.staffA, `/terminals/${fresh.id}/lock`, { reason: '设备遗失' });
    expect(locked.statusCode, locked.body).toBe(200);
    expect(locked.json()).toMatchObject({ terminal: { status: 'locked' }, command_id: null });
    expectError(await post(w.tokens.staffA, `/terminals/${fresh.id}/lock`), 'terminal_status_conflict');
    // No body at all is as good as an empty one.
    const bare = await h.app.inject({ method: 'POST', url: `/api/v1/terminals/${fresh.id}/unlock`, headers: auth(w.tokens.staffA) });
    expect(bare.statusCode, bare.body).toBe(200);
    expect(bare.json()).toMatchObject({ terminal: { status: 'registered' } });
    expectError(await post(w.tokens.staffA, `/terminals/${fresh.id}/unlock`), 'terminal_status_conflict');
    expect(await commandsOf(h, fresh.id)).toEqual([]);

    const t = await newTerminal(h, w.tokens.staffA, w.merchantA);
    await bindDevice(h, t.id);
    const lock = (await post(w.tokens.staffA, `/terminals/${t.id}/lock`, { reason: 'lost' })).json();
    expect(lock).toMatchObject({ terminal: { status: 'locked', device_bound: true } });
    expect(lock.command_id).toEqual(expect.any(String));
    expect((await post(w.tokens.staffA, `/terminals/${t.id}/unlock`, {})).json()).toMatchObject({ terminal: { status: 'active' } });
    expect((await post(w.tokens.staffA, `/terminals/${t.id}/retire`, { reason: '报废' })).json()).toMatchObject({
      terminal: { status: 'retired' },
    });
    const commands = await commandsOf(h, t.id);
    expect(commands.map((c) => c.kind)).toEqual(['lock', 'unlock', 'retire']);
    expect(commands[0]!.payload).toEqual({ reason: 'lost' });
    expect(commands.every((c) => c.expires_at > Date.now() * 1000)).toBe(true);

    // Retired is final: every change is refused and nothing moves.
    for (const action of ['lock', 'unlock', 'retire'])
      expectError(await post(w.tokens.staffA, `/terminals/${t.id}/${action}`), 'terminal_status_conflict');
    expectError(await patch(w.tokens.staffA, `/terminals/${t.id}`, { model: 'again' }), 'terminal_status_conflict');
    expectError(await put(w.tokens.staffA, `/terminals/${t.id}/params`, { txn_limit_fen: 100 }), 'terminal_status_conflict');
    expectError(await post(w.tokens.staffA, `/terminals/${t.id}/activation-codes`), 'terminal_status_conflict');
    expect((await get(w.tokens.staffA, `/terminals/${t.id}`)).json()).toMatchObject({ status: 'retired', model: 'Sunmi P2' });
    expect((await commandsOf(h, t.id)).length).toBe(3);
    expectError(await post(w.tokens.staffA, '/terminals/no-such-terminal/lock'), 'not_found');
  });

  it('two racing locks: one applies, the other gets a typed conflict', async () => {
    const t = await newTerminal(h, w.tokens.staffA, w.merchantA);
    await bindDevice(h, t.id);
    const replies = await Promise.all([post(w.tokens.staffA, `/terminals/${t.id}/lock`), post(w.tokens.staffA, `/terminals/${t.id}/lock`)]);
    expect(replies.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect((await commandsOf(h, t.id)).map((c) => c.kind)).toEqual(['lock']);
  });

  it('validates parameters, merges defaults ← groups ← terminal and tells the devices', async () => {
    const t = await newTerminal(h, w.tokens.staffA, w.merchantA);
    const idle = await newTerminal(h, w.tokens.staffA, w.merchantA); // registered: no device to tell
    await bindDevice(h, t.id);
    const before = await fleetDb(h).selectFrom('terminals').select('params').where('id', '=', t.id).executeTakeFirstOrThrow();

    // Refused sets change nothing and send nothing.
    for (const bad of [
      { txn_limit_fen: 0 },
      { txn_limit_fen: 1_000_000_001 },
      { txn_limit_fen: 100.5 },
      { txn_limit_fen: '100' },
      { heartbeat_interval_s: 5 },
      { request_timeout_s: 999 },
      { receipt_header_zh: '' },
      { receipt_header_zh: '第一行\n第二行' },
      { receipt_header_en: 'x'.repeat(65) },
      { pin_key: 'ABCDEF' },
      { poll_interval_s: null },
    ]) {
      expectError(await put(w.tokens.staffA, `/terminals/${t.id}/params`, bad), 'validation_failed');
    }
    expect(await fleetDb(h).selectFrom('terminals').select('params').where('id', '=', t.id).executeTakeFirstOrThrow()).toEqual(before);
    expect(await commandsOf(h, t.id)).toEqual([]);

    // Two groups (the newer overrides the older), then the terminal's own set on top.
    const g1 = (
      await post(w.tokens.staffA, '/terminal-groups', {
        org_id: w.branchA,
        name: '城阳-全部',
        params: { txn_limit_fen: 1_000_000, heartbeat_interval_s: 120, receipt_header_zh: '城阳农商' },
      })
    ).json();
    const g2 = (
      await post(w.tokens.staffA, '/terminal-groups', { org_id: w.branchA, name: '城阳-收购', params: { txn_limit_fen: 2_000_000 } })
    ).json();
    expect(g1).toMatchObject({ member_count: 0, params: { txn_limit_fen: 1_000_000 } });
    for (const g of [g1, g2]) {
      const added = await post(w.tokens.staffA, `/terminal-groups/${g.id}/members`, { serials: [t.serial.toLowerCase(), idle.serial] });
      expect(added.statusCode, added.body).toBe(200);
      expect(added.json()).toMatchObject({ added: 2, changed_terminals: 2 });
    }
    let eff = (await get(w.tokens.staffA, `/terminals/${t.id}/effective-params`)).json();
    expect(eff.effective).toEqual({
      ...PARAM_DEFAULTS,
      txn_limit_fen: 2_000_000,
      heartbeat_interval_s: 120,
      receipt_header_zh: '城阳农商',
    });
    expect(eff.sources).toMatchObject({
      txn_limit_fen: `group:${g2.id}`,
      heartbeat_interval_s: `group:${g1.id}`,
      poll_interval_s: 'default',
    });

    const own = await put(w.tokens.staffA, `/terminals/${t.id}/params`, { txn_limit_fen: 300_000, poll_interval_s: 60 });
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json()).toMatchObject({
      params: { txn_limit_fen: 300_000, poll_interval_s: 60 },
      changed_terminals: 1,
      effective: { txn_limit_fen: 300_000, heartbeat_interval_s: 120 },
    });
    eff = (await get(w.tokens.staffA, `/terminals/${t.id}/effective-params`)).json();
    expect(eff.sources).toMatchObject({ txn_limit_fen: 'terminal', poll_interval_s: 'terminal' });
    expect(eff.own).toEqual({ txn_limit_fen: 300_000, poll_interval_s: 60 });

    // A group change the terminal overrides anyway sends nothing new to it.
    const g2change = await put(w.tokens.staffA, `/terminal-groups/${g2.id}/params`, { txn_limit_fen: 2_500_000 });
    expect(g2change.json()).toMatchObject({ changed_terminals: 1, group: { params: { txn_limit_fen: 2_500_000 } } });

    const sent = await commandsOf(h, t.id);
    expect(sent.map((c) => c.kind)).toEqual(['parameters', 'parameters', 'parameters']);
    expect(sent.at(-1)!.payload).toEqual({ params: eff.effective });
    expect(await commandsOf(h, idle.id)).toEqual([]);
    // The detail shows the groups, oldest first, and the heartbeat interval that decides "online".
    const detail = (await get(w.tokens.staffA, `/terminals/${t.id}`)).json();
    expect(detail.groups.map((g: { id: string }) => g.id)).toEqual([g1.id, g2.id]);
    expect(detail.heartbeat_interval_s).toBe(120);

    // Leaving a group takes its parameters away.
    const removed = await post(w.tokens.staffA, `/terminal-groups/${g1.id}/members/remove`, { terminal_ids: [t.id] });
    expect(removed.json()).toMatchObject({ removed: 1, changed_terminals: 1 });
    eff = (await get(w.tokens.staffA, `/terminals/${t.id}/effective-params`)).json();
    expect(eff.effective).toMatchObject({
      heartbeat_interval_s: PARAM_DEFAULTS.heartbeat_interval_s,
      receipt_header_zh: PARAM_DEFAULTS.receipt_header_zh,
      txn_limit_fen: 300_000,
    });
    expect((await get(w.tokens.staffA, `/terminals/${t.id}`)).json().heartbeat_interval_s).toBe(PARAM_DEFAULTS.heartbeat_interval_s);
    expect((await commandsOf(h, t.id)).length).toBe(4);
    // {} clears the terminal's own set.
    expect((await put(w.tokens.staffA, `/terminals/${t.id}/params`, {})).json()).toMatchObject({
      params: {},
      effective: { txn_limit_fen: 2_500_000 },
    });
  });

  it('manages groups: names, maintenance windows, members within the organisation', async () => {
    const g = await post(w.tokens.staffA, '/terminal-groups', { org_id: w.branchA, name: '夜间维护', maintenance_window: '22:00-06:00' });
    expect(g.statusCode, g.body).toBe(201);
    const group = g.json();
    expectError(await post(w.tokens.staffA, '/terminal-groups', { org_id: w.branchA, name: '夜间维护' }), 'terminal_group_name_exists');
    expectError(await post(w.tokens.staffA, '/terminal-groups', { org_id: w.branchB, name: 'B 组' }), 'forbidden');
    expectError(
      await post(w.tokens.staffA, '/terminal-groups', { org_id: w.branchA, name: 'x', maintenance_window: '25:00-01:00' }),
      'validation_failed',
    );
    expectError(
      await post(w.tokens.staffA, '/terminal-groups', { org_id: w.branchA, name: 'x', maintenance_window: '10:00-10:00' }),
      'validation_failed',
    );
    const renamed = await patch(w.tokens.staffA, `/terminal-groups/${group.id}`, { name: '夜间维护组', maintenance_window: null });
    expect(renamed.json()).toMatchObject({ name: '夜间维护组', maintenance_window: null });
    await post(w.tokens.staffA, '/terminal-groups', { org_id: w.branchA, name: '其他' });
    expectError(await patch(w.tokens.staffA, `/terminal-groups/${group.id}`, { name: '其他' }), 'terminal_group_name_exists');

    // A terminal of another branch cannot join; nor can an unknown one. Nothing is added then.
    const mine = await newTerminal(h, w.tokens.staffA, w.merchantA);
    const theirs = await newTerminal(h, w.tokens.staffB, w.merchantB);
    expectError(
      await post(w.tokens.admin, `/terminal-groups/${group.id}/members`, { terminal_ids: [mine.id, theirs.id] }),
      'terminal_group_member_invalid',
    );
    expectError(
      await post(w.tokens.staffA, `/terminal-groups/${group.id}/members`, { serials: ['NOSUCHSERIAL'] }),
      'terminal_group_member_invalid',
    );
    expect((await get(w.tokens.staffA, `/terminal-groups/${group.id}`)).json().member_count).toBe(0);
    // A service point's terminal may join its branch's group.
    const agents = await newTerminal(h, w.tokens.staffA, w.agentA);
    expect(
      (await post(w.tokens.staffA, `/terminal-groups/${group.id}/members`, { terminal_ids: [mine.id, agents.id, mine.id] })).json(),
    ).toMatchObject({ added: 2 });
    expect((await post(w.tokens.staffA, `/terminal-groups/${group.id}/members`, { terminal_ids: [mine.id] })).json()).toMatchObject({
      added: 0,
      changed_terminals: 0,
    });
    expect((await get(w.tokens.staffA, `/terminals?group_id=${group.id}`)).json().total).toBe(2);

    // Groups are visible within the organisation scope only.
    expectError(await get(w.tokens.staffB, `/terminal-groups/${group.id}`), 'not_found');
    expectError(await post(w.tokens.staffB, `/terminal-groups/${group.id}/members`, { terminal_ids: [theirs.id] }), 'not_found');
    expect((await get(w.tokens.staffB, '/terminal-groups')).json().items.map((x: { id: string }) => x.id)).not.toContain(group.id);
    const listA = (await get(w.tokens.staffA, '/terminal-groups?search=夜间')).json();
    expect(listA.items.map((x: { id: string }) => x.id)).toEqual([group.id]);
    expect(listA.items[0].member_count).toBe(2);
  });

  it('tells online from offline by each terminal’s heartbeat interval and sums up the fleet', async () => {
    const now = Date.now() * 1000;
    const w2 = await buildWorld(h);
    const fresh = await newTerminal(h, w2.tokens.staffA, w2.merchantA); // registered, never seen
    const seen = await newTerminal(h, w2.tokens.staffA, w2.merchantA, { kind: 'tablet' });
    const late = await newTerminal(h, w2.tokens.staffA, w2.merchantA, { kind: 'phone' });
    const quick = await newTerminal(h, w2.tokens.staffA, w2.merchantA);
    const gone = await newTerminal(h, w2.tokens.staffA, w2.merchantA);
    for (const t of [seen, late, quick, gone]) await bindDevice(h, t.id, now - 3_600_000_000);
    const seenAt = (id: string, agoS: number) =>
      fleetDb(h)
        .updateTable('terminals')
        .set({ last_seen_at: now - agoS * 1_000_000 })
        .where('id', '=', id)
        .execute();
    await seenAt(seen.id, 100); // default 60 s: within 180 s
    await seenAt(late.id, 200);
    await seenAt(quick.id, 100);
    await seenAt(gone.id, 1);
    await put(w2.tokens.staffA, `/terminals/${quick.id}/params`, { heartbeat_interval_s: 30 }); // 90 s: offline now
    await post(w2.tokens.staffA, `/terminals/${gone.id}/retire`);

    const online = (await get(w2.tokens.staffA, '/terminals?online=true')).json();
    expect(online.items.map((i: { id: string }) => i.id)).toEqual([seen.id]);
    const offline = (await get(w2.tokens.staffA, '/terminals?online=false&limit=500')).json().items.map((i: { id: string }) => i.id);
    expect(offline.sort()).toEqual([fresh.id, late.id, quick.id, gone.id].sort());
    expect((await get(w2.tokens.staffA, `/terminals/${quick.id}`)).json()).toMatchObject({ online: false, heartbeat_interval_s: 30 });

    const summary = (await get(w2.tokens.staffA, '/terminals/summary')).json();
    expect(summary).toEqual({
      total: 5,
      by_status: { registered: 1, active: 3, locked: 0, retired: 1 },
      by_kind: { smart_pos: 3, tablet: 1, phone: 1, pos: 0 },
      online: 1,
      offline: 2,
    });
  });

  it('shows the heartbeat history the protocol part records', async () => {
    const t = await newTerminal(h, w.tokens.staffA, w.merchantA);
    await bindDevice(h, t.id);
    const base = Date.now() * 1000;
    const beat = (i: number) => ({
      terminal_id: t.id,
      ts: base + i,
      app_versions: JSON.stringify({ shell: `1.0.${i}` }),
      network: 'wifi',
      signal_dbm: -60,
      battery: 80 - i,
      charging: i % 2,
      lat_e6: 36_000_000,
      lng_e6: 120_000_000,
    });
    await fleetDb(h)
      .insertInto('terminal_heartbeats')
      .values([beat(1), beat(2), beat(3)])
      .execute();
    const list = await get(w.tokens.staffA, `/terminals/${t.id}/heartbeats?limit=2`);
    expect(list.statusCode, list.body).toBe(200);
    expect(list.json().items).toEqual([
      {
        ts: base + 3,
        app_versions: { shell: '1.0.3' },
        network: 'wifi',
        signal_dbm: -60,
        battery: 77,
        charging: true,
        lat_e6: 36_000_000,
        lng_e6: 120_000_000,
      },
      {
        ts: base + 2,
        app_versions: { shell: '1.0.2' },
        network: 'wifi',
        signal_dbm: -60,
        battery: 78,
        charging: false,
        lat_e6: 36_000_000,
        lng_e6: 120_000_000,
      },
    ]);
    expect(
      (await get(w.tokens.staffA, `/terminals/${t.id}/heartbeats?before=${base + 2}`)).json().items.map((b: { ts: number }) => b.ts),
    ).toEqual([base + 1]);
    expect((await get(w.tokens.ownerA, `/terminals/${t.id}`)).json().last_heartbeat).toMatchObject({ ts: base + 3 });
  });

  it('audits every staff change, refused ones included', async () => {
    const t = await newTerminal(h, w.tokens.staffA, w.merchantA);
    await post(w.tokens.staffA, `/terminals/${t.id}/lock`);
    await post(w.tokens.staffA, `/terminals/${t.id}/lock`); // refused: already locked
    await put(w.tokens.staffA, `/terminals/${t.id}/params`, { txn_limit_fen: 1000 });
    await patch(w.tokens.staffA, `/terminals/${t.id}`, { model: 'audited' });
    const audit = (await get(w.tokens.admin, '/audit?limit=500')).json().items as {
      action: string;
      target: string | null;
      outcome: string;
    }[];
    const forT = audit.filter((a) => a.target === t.id).map((a) => `${a.action} ${a.outcome}`);
    expect(forT).toEqual(
      expect.arrayContaining([
        'terminal.create ok',
        'terminal.lock ok',
        'terminal.lock failed:409',
        'terminal.params ok',
        'terminal.update ok',
      ]),
    );
    const actions = new Set(audit.map((a) => a.action));
    for (const a of ['terminal_group.create', 'terminal_group.add_members', 'terminal_group.params', 'terminal.unlock', 'terminal.retire'])
      expect(actions).toContain(a);
  });
});
