import { ACCOUNT_TYPES, LEDGER_CNY, TRANSFER_CODES, type AccountInput, type TransferInput } from '../ledger/index.js';
import { BANK_ACCOUNTS } from './bootstrap.js';
import { DEMO_SEED, type DemoScale, type DemoWorld } from './demo-world.js';
import { CROPS, MID_AUTUMN, SPRING_FESTIVAL, type Crop } from './names.js';
import { Rng, WeightedPicker, apportion } from './random.js';

/**
 * The demo's money history: every transfer of the simulated days with the time it happened, in
 * time order, generated against balances tracked here so that the ledger accepts every one of them
 * (deposit, settlement and float accounts may not be overdrawn). Pure and deterministic.
 */

const DAY_MS = 86_400_000;
const US = 1000;
const CHINA_OFFSET_MS = 8 * 3600 * 1000;

const code = (key: string): number => {
  const c = TRANSFER_CODES.find((t) => t.key === key);
  if (!c) throw new Error(`transfer code ${key} missing from the chart`);
  return c.code;
};
const CODE = {
  cash_deposit: code('cash_deposit'),
  cash_withdrawal: code('cash_withdrawal'),
  fee: code('fee'),
  payment: code('payment'),
  settlement: code('settlement'),
  produce_payout: code('produce_payout'),
};

/** The China calendar day (days since 1970-01-01, UTC+8) of a time in ms. */
export function chinaDay(ms: number): number {
  return Math.floor((ms + CHINA_OFFSET_MS) / DAY_MS);
}

/** 00:00 China time of a China calendar day, µs since the epoch. */
export function chinaDayStartMicros(day: number): number {
  return (day * DAY_MS - CHINA_OFFSET_MS) * US;
}

export function isoDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export interface DemoHistory {
  /** Accounts of the demo parties in the order they were opened, with their opening times (µs). */
  accounts: AccountInput[];
  accountTimes: number[];
  /** Transfers in time order; `times[i]` is the simulated time of `transfers[i]` (µs, increasing). */
  transfers: TransferInput[];
  times: number[];
  /** China calendar days covered. */
  firstDay: number;
  lastDay: number;
  /** Transfers per China day (ISO date) and per transfer code. */
  perDay: Map<string, number>;
  perCode: Map<number, number>;
  /** Takings (fen) per merchant, to pick the busiest shop for the demo login. */
  takings: number[];
}

enum Kind {
  Pay,
  Withdraw,
  Deposit,
  Onboard,
  Produce,
  Fee,
  Settle,
  TopUp,
  Return,
}

interface Intent {
  t: number;
  seq: number;
  kind: Kind;
  /** customer, merchant or agent index, per kind */
  who: number;
  /** agent channel (service point with an agent) instead of the bank counter */
  agent: boolean;
  amount: number;
  crop: number;
}

type Segments = readonly (readonly [number, number, number])[];
/** Hours of the day (China time) when each kind of business happens, with weights. */
const HOURS: Record<string, Segments> = {
  pay: [
    [6, 9, 3],
    [9, 11, 2],
    [11, 13.5, 2.5],
    [13.5, 17, 2],
    [17, 20, 3.5],
    [20, 22, 1],
  ],
  payMarket: [
    [5.5, 9, 5],
    [9, 11.5, 4],
    [11.5, 13.5, 2],
    [13.5, 17, 1.5],
    [17, 20, 2.5],
    [20, 22, 0.7],
  ],
  counter: [
    [8.5, 11.5, 4],
    [11.5, 14, 2],
    [14, 17, 3.5],
  ],
  agent: [
    [7, 9, 2],
    [9, 12, 3],
    [12, 14, 1.5],
    [14, 18, 3],
    [18, 20, 1.5],
  ],
  produce: [
    [8, 12, 4],
    [12, 14, 1.5],
    [14, 18, 4],
    [18, 19.5, 1],
  ],
  batch: [[0.5, 1.5, 1]],
  settle: [[1.5, 2.5, 1]],
  topUp: [[8.5, 10.5, 1]],
  floatReturn: [[15, 16.5, 1]],
};

/** Weight of each day of the week (0 = Sunday). */
const WEEKDAY = [1.08, 1.0, 0.97, 0.98, 1.0, 1.05, 1.12];

/** Agents' float rules, fen. */
const FLOAT_LOW = 800_000;
const FLOAT_HIGH = 3_500_000;
const FLOAT_KEEP = 2_000_000;
const AGENT_CASH_IN_MAX = 500_000;
/** Acquiring fee: 0.38 % of takings, in basis points. */
const MDR_BP = 38;

function dayOfYear(day: number): number {
  const d = new Date(day * DAY_MS);
  return Math.floor((day * DAY_MS - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY_MS);
}

function doy(year: number, month: number, dom: number): number {
  return Math.floor((Date.UTC(year, month - 1, dom) - Date.UTC(year, 0, 1)) / DAY_MS);
}

/** How far into its season a crop is on a day: 0 outside, up to 1 at the peak. */
export function seasonShape(crop: Crop, day: number): number {
  if (crop.season === 'all-year') return 1;
  const year = new Date(day * DAY_MS).getUTCFullYear();
  const yearLen = doy(year, 12, 31) + 1;
  const [[sm, sd], [em, ed]] = crop.season;
  const start = doy(year, sm, sd);
  let len = doy(year, em, ed) - start;
  if (len < 0) len += yearLen;
  let pos = dayOfYear(day) - start;
  if (pos < 0) pos += yearLen;
  if (pos > len) return 0;
  return Math.pow(Math.sin((Math.PI * (pos + 0.5)) / (len + 1)), 0.6);
}

function festivalFactor(day: number): number {
  const iso = isoDay(day);
  const md = iso.slice(5);
  let f = 1;
  if (md >= '10-01' && md <= '10-07') f *= 1.25;
  if (md >= '05-01' && md <= '05-05') f *= 1.1;
  if (md === '01-01' || md === '11-11') f *= 1.1;
  for (const s of MID_AUTUMN) {
    const m = Date.parse(s) / DAY_MS;
    if (day === m - 1) f *= 1.3;
    else if (day === m) f *= 1.15;
  }
  for (const s of SPRING_FESTIVAL) {
    const sf = Date.parse(s) / DAY_MS;
    if (day >= sf - 14 && day < sf) f *= 1.15 + (0.45 * (14 - (sf - day))) / 14;
    else if (day >= sf && day < sf + 3) f *= 0.7;
    else if (day >= sf + 3 && day < sf + 7) f *= 0.85;
  }
  return f;
}

/** Market days (大集): each town has two days in every five (逢一六, 逢二七 …) by day of the month. */
function isMarketDay(town: string, day: number): boolean {
  const dom = new Date(day * DAY_MS).getUTCDate();
  const digit = (Number(town.slice(-3)) % 5) + 1;
  return dom % 5 === digit % 5;
}

/** Yuan amounts as people pay them: mostly round, some with jiao. */
function paymentAmount(rng: Rng): number {
  const yuan = Math.max(5, Math.min(300, Math.round(rng.logNormal(26, 0.75))));
  const r = rng.next();
  const jiao = r < 0.6 ? 0 : r < 0.75 ? 5 : rng.int(1, 9);
  return Math.min(30_000, yuan * 100 + jiao * 10);
}

function roundDown(amount: number, unit: number): number {
  return Math.floor(amount / unit) * unit;
}

export interface HistoryOptions extends DemoScale {
  /** The last simulated day is the day before this China calendar day. */
  today: number;
  /** Resume: the first day of an earlier, interrupted run (its history must be the same). */
  firstDay?: number | undefined;
}

export function generateHistory(world: DemoWorld, o: HistoryOptions): DemoHistory {
  const root = new Rng(DEMO_SEED ^ 0x4849_5354);
  const rng = root.fork(7);
  const D = Math.max(1, o.days);
  const firstDay = o.firstDay ?? o.today - D;
  const lastDay = firstDay + D - 1;
  const { customers, merchants, agents } = world;
  const C = customers.length;
  const M = merchants.length;
  const A = agents.length;

  const hours = Object.fromEntries(
    Object.entries(HOURS).map(([k, segs]) => [k, new WeightedPicker(segs.map((s) => [s, s[2]] as const))]),
  ) as Record<keyof typeof HOURS, WeightedPicker<readonly [number, number, number]>>;
  const timeIn = (day: number, profile: keyof typeof HOURS): number => {
    const [from, to] = hours[profile]!.pick(rng);
    return chinaDayStartMicros(day) + Math.floor((from + rng.next() * (to - from)) * 3600 * 1_000_000);
  };

  // Who is where.
  const districtCodes = [...new Set(customers.map((c) => c.place.district))].sort();
  const towns = [...new Set(customers.map((c) => c.place.town))];
  const agentOfVillage = new Map<string, number>();
  agents.forEach((a, i) => agentOfVillage.set(a.place.village.code, i));
  const customerAgent = customers.map((c) => agentOfVillage.get(c.place.village.code) ?? -1);
  const farmersOf = new Map<string, number[]>(districtCodes.map((d) => [d, []]));
  customers.forEach((c, i) => {
    if (c.farmer) farmersOf.get(c.place.district)!.push(i);
  });

  // Shops each customer uses: same village first, then the town, then the district.
  const byVillage = new Map<string, number[]>();
  const byTown = new Map<string, number[]>();
  const byDistrict = new Map<string, number[]>();
  merchants.forEach((m, i) => {
    for (const [map, key] of [
      [byVillage, m.place.village.code],
      [byTown, m.place.town],
      [byDistrict, m.place.district],
    ] as const) {
      const list = map.get(key) ?? [];
      list.push(i);
      map.set(key, list);
    }
  });
  const SHOP_PREFERENCE = [0.55, 0.25, 0.12, 0.08];
  const shopsOf: number[][] = customers.map((c) => {
    const out: number[] = [];
    for (const list of [byVillage.get(c.place.village.code), byTown.get(c.place.town), byDistrict.get(c.place.district)]) {
      for (const m of rng.shuffle([...(list ?? [])])) {
        if (out.length < 4 && !out.includes(m)) out.push(m);
      }
    }
    while (out.length < Math.min(2, M)) {
      const m = rng.int(0, M - 1);
      if (!out.includes(m)) out.push(m);
    }
    return out;
  });
  const activity = customers.map(() => rng.logNormal(1, 0.8));

  // When each customer starts using the account: most in the first week, then growing adoption.
  const joinDay = customers.map(() => {
    if (D === 1) return 0;
    if (rng.chance(0.6)) return rng.int(0, Math.min(6, D - 1));
    return Math.min(D - 1, Math.floor(D * Math.sqrt(rng.next())));
  });

  // Harvest intensity per district and day, with buying-day bursts.
  const produceByDay: { district: string; weight: number; crops: WeightedPicker<number> }[][] = [];
  const produceShare: number[] = [];
  for (let d = 0; d < D; d++) {
    const day = firstDay + d;
    const entries: { district: string; weight: number; crops: WeightedPicker<number> }[] = [];
    let city = 0;
    let farmersTotal = 0;
    for (const district of districtCodes) {
      const cropWeights = CROPS.map((crop, i) => [i, (crop.districts[district] ?? 0) * seasonShape(crop, day)] as const);
      const intensity = cropWeights.reduce((s, [, w]) => s + w, 0) * rng.logNormal(1, 0.7);
      const farmers = farmersOf.get(district)!.length;
      farmersTotal += farmers;
      city += farmers * intensity;
      if (intensity > 0 && farmers > 0) entries.push({ district, weight: farmers * intensity, crops: new WeightedPicker(cropWeights) });
    }
    produceByDay.push(entries);
    produceShare.push(farmersTotal > 0 ? Math.min(1, city / farmersTotal) : 0);
  }

  // Transfers per day: weekday pattern, festivals, harvest, a slight upward trend, some noise.
  const dayWeights = Array.from({ length: D }, (_, d) => {
    const day = firstDay + d;
    const trend = 1 + (0.3 * d) / Math.max(1, D - 1);
    const weekday = WEEKDAY[new Date(day * DAY_MS).getUTCDay()]!;
    return trend * weekday * festivalFactor(day) * (1 + 0.15 * produceShare[d]!) * (0.92 + 0.16 * rng.next());
  });
  const perDayTarget = apportion(o.transfers, dayWeights);

  // Balances (fen) and the state of the shops' settlement cycle.
  const cust = new Array<number>(C).fill(0);
  const merch = new Array<number>(M).fill(0);
  const float = new Array<number>(A).fill(0);
  const unsettled = new Array<number>(M).fill(0);
  const lastSettled = new Array<number>(M).fill(-1);
  const takings = new Array<number>(M).fill(0);

  const transfers: TransferInput[] = [];
  const times: number[] = [];
  const perDay = new Map<string, number>();
  const perCode = new Map<number, number>();
  let lastTime = 0;
  const emit = (t: number, debit: string, credit: string, amount: number, transferCode: number, reference: string): void => {
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new Error(`demo generator: bad amount ${amount}`);
    const ts = Math.max(t, lastTime + 1);
    lastTime = ts;
    transfers.push({
      id: `demo:${transfers.length}`,
      debit_account_id: debit,
      credit_account_id: credit,
      amount,
      ledger: LEDGER_CNY,
      code: transferCode,
      reference,
    });
    times.push(ts);
    perCode.set(transferCode, (perCode.get(transferCode) ?? 0) + 1);
  };

  let seq = 0;
  let cumulativeTarget = 0;
  for (let d = 0; d < D; d++) {
    const day = firstDay + d;
    cumulativeTarget += perDayTarget[d]!;
    const budget = (d === D - 1 ? o.transfers : cumulativeTarget) - transfers.length;
    const intents: Intent[] = [];
    const add = (t: number, kind: Kind, who: number, agent = false, amount = 0, crop = -1): void => {
      intents.push({ t, seq: seq++, kind, who, agent, amount, crop });
    };
    const room = (): boolean => transfers.length + intents.length < o.transfers;

    // 00:30 T+1 batch: shops pay the acquiring fee on their takings and settle part of the balance out.
    for (let m = 0; m < M && room(); m++) {
      if (unsettled[m]! <= 0) continue;
      if (unsettled[m]! < 50_000 && d - lastSettled[m]! < 7) continue;
      const fee = Math.min(merch[m]!, Math.max(1, Math.floor((unsettled[m]! * MDR_BP + 5000) / 10_000)));
      if (fee > 0) add(timeIn(day, 'batch'), Kind.Fee, m, false, fee);
      const after = merch[m]! - fee;
      if (after >= 20_000 && rng.chance(0.5) && room()) {
        add(timeIn(day, 'settle'), Kind.Settle, m, false, roundDown(after * (0.5 + 0.4 * rng.next()), 10_000));
      }
      unsettled[m] = 0;
      lastSettled[m] = d;
    }
    // Agents top their float up at the branch in the morning, bring surplus back in the afternoon.
    for (let a = 0; a < A && room(); a++) {
      if (d === 0) add(timeIn(day, 'topUp'), Kind.TopUp, a, false, rng.int(30, 50) * 100_000);
      else if (float[a]! < FLOAT_LOW) add(timeIn(day, 'topUp'), Kind.TopUp, a, false, rng.int(20, 40) * 100_000);
      else if (float[a]! > FLOAT_HIGH) add(timeIn(day, 'floatReturn'), Kind.Return, a);
    }
    // New customers open with a first deposit, at the counter or their village's service point.
    for (let c = 0; c < C && room(); c++) {
      if (joinDay[c] !== d) continue;
      const viaAgent = customerAgent[c]! >= 0 && rng.chance(0.4);
      add(timeIn(day, viaAgent ? 'agent' : 'counter'), Kind.Onboard, c, viaAgent);
    }

    // Everyday business fills the rest of the day.
    const variable = Math.max(0, budget - intents.length);
    const market = new Set(towns.filter((t) => isMarketDay(t, day)));
    const active: number[] = [];
    for (let c = 0; c < C; c++) if (joinDay[c]! <= d) active.push(c);
    const payers = new WeightedPicker(active.map((c) => [c, activity[c]! * (market.has(customers[c]!.place.town) ? 1.8 : 1)] as const));
    const savers = new WeightedPicker(active.map((c) => [c, Math.sqrt(activity[c]!)] as const));
    const produce = produceByDay[d]!;
    const producePicker = new WeightedPicker(produce.map((p) => [p, p.weight] as const));
    const pShare = producePicker.size > 0 ? 0.02 + 0.1 * produceShare[d]! : 0;
    const kinds = new WeightedPicker<Kind>([
      [Kind.Pay, 0.64],
      [Kind.Withdraw, 0.14],
      [Kind.Deposit, 0.1],
      [Kind.Produce, pShare],
    ]);
    for (let k = 0; k < variable; k++) {
      const kind = active.length === 0 ? Kind.Produce : kinds.pick(rng);
      if (kind === Kind.Produce && producePicker.size > 0) {
        const p = producePicker.pick(rng);
        const farmers = farmersOf.get(p.district)!;
        const joined = farmers.filter((f) => joinDay[f]! <= d);
        add(timeIn(day, 'produce'), Kind.Produce, rng.pick(joined.length > 0 ? joined : farmers), false, 0, p.crops.pick(rng));
      } else if (kind === Kind.Pay) {
        const c = payers.pick(rng);
        add(timeIn(day, market.has(customers[c]!.place.town) ? 'payMarket' : 'pay'), Kind.Pay, c);
      } else {
        const c = active.length > 0 ? savers.pick(rng) : rng.int(0, C - 1);
        const viaAgent = customerAgent[c]! >= 0 && rng.chance(0.7);
        add(timeIn(day, viaAgent ? 'agent' : 'counter'), kind === Kind.Withdraw ? Kind.Withdraw : Kind.Deposit, c, viaAgent);
      }
    }

    intents.sort((a, b) => a.t - b.t || a.seq - b.seq);
    const before = transfers.length;
    const deposit = (t: number, c: number, viaAgent: boolean, amount: number, first = false): void => {
      const a = customerAgent[c]!;
      if (viaAgent && a >= 0 && amount <= AGENT_CASH_IN_MAX && float[a]! >= amount) {
        float[a]! -= amount;
        cust[c]! += amount;
        emit(
          t,
          agents[a]!.accountId,
          customers[c]!.accountId,
          amount,
          CODE.cash_deposit,
          first ? '开户存入 first deposit (agent)' : '助农存款 agent cash-in',
        );
      } else {
        cust[c]! += amount;
        const hour = (((t / 3_600_000_000 + 8) % 24) + 24) % 24;
        const counterOpen = hour >= 8.5 && hour < 17;
        const reference = first ? '开户存入 first deposit' : counterOpen ? '柜面存款 counter deposit' : '自助存款 cash machine deposit';
        emit(t, BANK_ACCOUNTS.cash, customers[c]!.accountId, amount, CODE.cash_deposit, reference);
      }
    };
    const depositAmount = (): number => (rng.chance(0.7) ? rng.int(2, 60) * 5_000 : rng.int(7, 100) * 10_000);

    for (const it of intents) {
      switch (it.kind) {
        case Kind.Fee: {
          const m = it.who;
          const fee = Math.min(it.amount, merch[m]!);
          if (fee > 0) {
            merch[m]! -= fee;
            emit(it.t, merchants[m]!.accountId, BANK_ACCOUNTS.fee_income, fee, CODE.fee, '收单手续费 MDR 0.38%');
          } else deposit(it.t, rng.int(0, C - 1), false, depositAmount());
          break;
        }
        case Kind.Settle: {
          const m = it.who;
          const amount = Math.min(it.amount, roundDown(merch[m]!, 10_000));
          if (amount > 0) {
            merch[m]! -= amount;
            emit(it.t, merchants[m]!.accountId, BANK_ACCOUNTS.settlement, amount, CODE.settlement, '商户结算 T+1 settlement');
          } else deposit(it.t, rng.int(0, C - 1), false, depositAmount());
          break;
        }
        case Kind.TopUp: {
          float[it.who]! += it.amount;
          emit(it.t, BANK_ACCOUNTS.cash, agents[it.who]!.accountId, it.amount, CODE.cash_deposit, '备付金补充 float top-up');
          break;
        }
        case Kind.Return: {
          const amount = roundDown(float[it.who]! - FLOAT_KEEP, 100_000);
          if (amount > 0) {
            float[it.who]! -= amount;
            emit(it.t, agents[it.who]!.accountId, BANK_ACCOUNTS.cash, amount, CODE.cash_withdrawal, '备付金回缴 float return');
          } else deposit(it.t, rng.int(0, C - 1), false, depositAmount());
          break;
        }
        case Kind.Onboard:
          deposit(it.t, it.who, it.agent, rng.chance(0.75) ? rng.int(5, 100) * 10_000 : rng.int(10, 300) * 10_000, true);
          break;
        case Kind.Deposit:
          deposit(it.t, it.who, it.agent, depositAmount());
          break;
        case Kind.Withdraw: {
          const c = it.who;
          const wanted = rng.chance(0.6) ? rng.pick([10_000, 20_000, 30_000, 50_000, 100_000, 5_000, 20_000]) : rng.int(1, 100) * 1_000;
          const amount = Math.min(wanted, roundDown(cust[c]!, 1_000));
          if (amount <= 0) {
            deposit(it.t, c, it.agent, depositAmount());
            break;
          }
          cust[c]! -= amount;
          const a = customerAgent[c]!;
          if (it.agent && a >= 0) {
            float[a]! += amount;
            emit(it.t, customers[c]!.accountId, agents[a]!.accountId, amount, CODE.cash_withdrawal, '助农取款 agent cash-out');
          } else emit(it.t, customers[c]!.accountId, BANK_ACCOUNTS.cash, amount, CODE.cash_withdrawal, '柜面取款 counter withdrawal');
          break;
        }
        case Kind.Pay: {
          const c = it.who;
          let amount = paymentAmount(rng);
          if (amount > cust[c]! && cust[c]! >= 500) amount = 500 + roundDown(Math.floor(rng.next() * (cust[c]! - 500)), 10);
          if (amount > cust[c]!) {
            deposit(it.t, c, it.agent || customerAgent[c]! >= 0, depositAmount());
            break;
          }
          const shops = shopsOf[c]!;
          let r = rng.next() * SHOP_PREFERENCE.slice(0, shops.length).reduce((s, w) => s + w, 0);
          let m = shops[shops.length - 1]!;
          for (let i = 0; i < shops.length; i++) {
            r -= SHOP_PREFERENCE[i]!;
            if (r < 0) {
              m = shops[i]!;
              break;
            }
          }
          cust[c]! -= amount;
          merch[m]! += amount;
          unsettled[m]! += amount;
          takings[m]! += amount;
          emit(
            it.t,
            customers[c]!.accountId,
            merchants[m]!.accountId,
            amount,
            CODE.payment,
            rng.chance(0.72) ? '扫码支付 QR' : '刷卡支付 card',
          );
          break;
        }
        case Kind.Produce: {
          const crop = CROPS[it.crop]!;
          const [pmin, pmax] = crop.price;
          const [kmin, kmax] = crop.kg;
          const kg = Math.round(Math.exp(Math.log(kmin) + rng.next() * (Math.log(kmax) - Math.log(kmin))));
          const price = rng.int(pmin, pmax);
          const amount = kg * price;
          cust[it.who]! += amount;
          emit(
            it.t,
            BANK_ACCOUNTS.settlement,
            customers[it.who]!.accountId,
            amount,
            CODE.produce_payout,
            `收购${crop.zh} ${crop.key} ${kg} kg`,
          );
          break;
        }
      }
    }
    perDay.set(isoDay(day), transfers.length - before);
  }

  // Accounts were opened before the simulated period: shops and agents earlier, customers over a year.
  const opened: { account: AccountInput; t: number }[] = [];
  const start = chinaDayStartMicros(firstDay);
  const openAt = (daysBefore: number): number => start - daysBefore * DAY_MS * US + Math.floor((8.5 + rng.next() * 8) * 3600 * 1_000_000);
  const accountFor = (id: string, owner: string, key: string): AccountInput => {
    const type = ACCOUNT_TYPES.find((t) => t.key === key);
    if (!type) throw new Error(`account type ${key} missing from the chart`);
    // Named like accounts opened through the API.
    return { id, ledger: LEDGER_CNY, code: type.code, flags: type.flags, owner_id: owner, name: `${type.zh} ${type.en}` };
  };
  for (const m of merchants) opened.push({ account: accountFor(m.accountId, m.id, 'merchant_settlement'), t: openAt(rng.int(30, 700)) });
  for (const a of agents) opened.push({ account: accountFor(a.accountId, a.id, 'agent_float'), t: openAt(rng.int(10, 300)) });
  for (const c of customers) opened.push({ account: accountFor(c.accountId, c.id, 'customer_deposit'), t: openAt(rng.int(1, 400)) });
  opened.sort((a, b) => a.t - b.t || (a.account.id < b.account.id ? -1 : 1));

  return {
    accounts: opened.map((o) => o.account),
    accountTimes: opened.map((o) => o.t),
    transfers,
    times,
    firstDay,
    lastDay,
    perDay,
    perCode,
    takings,
  };
}
