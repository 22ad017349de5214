import { withCheckDigit } from '../identity/national-id.js';
import {
  BIRTH_DECADES,
  GIVEN_NAMES,
  SHOP_TYPES,
  SHOP_WORDS,
  SURNAMES,
  branchNames,
  eraOf,
  isRuralVillage,
  shopPrefix,
  villageShortName,
} from './names.js';
import { Rng, WeightedPicker, apportion } from './random.js';
import type { ReferenceRegion } from './reference.js';

/** How big the demo is. The defaults make dashboards look alive; tests pass smaller numbers. */
export interface DemoScale {
  customers: number;
  merchants: number;
  servicePoints: number;
  agents: number;
  transfers: number;
  days: number;
}

export const DEFAULT_SCALE: DemoScale = {
  customers: 2000,
  merchants: 200,
  servicePoints: 300,
  agents: 100,
  transfers: 100_000,
  days: 90,
};

/** A village-level unit and the units above it. */
export interface Place {
  village: ReferenceRegion;
  town: string;
  district: string;
  /** '北马连村', '振华路社区' */
  short: string;
  rural: boolean;
}

export interface BranchPlan {
  district: ReferenceRegion;
  code: string;
  name: string;
  name_en: string;
}

export interface ServicePointPlan {
  place: Place;
  code: string;
  name: string;
  name_en: string;
  /** Index into `agents`, or null when the service point has no agent yet. */
  agent: number | null;
}

export interface PersonPlan {
  id: string;
  accountId: string;
  name: string;
  national_id: string;
  phone: string;
  place: Place;
}

export interface CustomerPlan extends PersonPlan {
  farmer: boolean;
}

export interface AgentPlan extends PersonPlan {
  servicePoint: number;
}

export interface MerchantPlan {
  id: string;
  accountId: string;
  name: string;
  phone: string;
  place: Place;
}

export interface DemoWorld {
  branches: BranchPlan[];
  servicePoints: ServicePointPlan[];
  merchants: MerchantPlan[];
  agents: AgentPlan[];
  customers: CustomerPlan[];
}

export const DEMO_SEED = 0x5a_0b_20_26;
const BANK_CODE = 'QDRCB';

/** Organisation code of the demo branch of a district ('QDRCB-370283'). */
export function branchCode(districtCode: string): string {
  return `${BANK_CODE}-${districtCode}`;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

const PHONE_PREFIXES = [
  '130',
  '131',
  '132',
  '133',
  '134',
  '135',
  '136',
  '137',
  '138',
  '139',
  '150',
  '151',
  '152',
  '153',
  '155',
  '156',
  '157',
  '158',
  '159',
  '180',
  '181',
  '182',
  '183',
  '184',
  '185',
  '186',
  '187',
  '188',
  '189',
];

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Makes people: unique valid national IDs and phone numbers, names that fit their age. */
class People {
  private readonly ids = new Set<string>();
  private readonly phones = new Set<string>();
  private readonly surnames = new WeightedPicker(SURNAMES);
  private readonly decades = new WeightedPicker(BIRTH_DECADES);

  constructor(
    private readonly rng: Rng,
    private readonly districtCodes: readonly string[],
  ) {}

  surname(): string {
    return this.surnames.pick(this.rng);
  }

  phone(): string {
    for (;;) {
      const p = `${this.rng.pick(PHONE_PREFIXES)}${pad(this.rng.int(0, 99_999_999), 8)}`;
      if (!this.phones.has(p)) {
        this.phones.add(p);
        return p;
      }
    }
  }

  /** A person born in a Qingdao district (mostly where they live), 1950–2004. */
  person(homeDistrict: string, adult = false): { name: string; national_id: string } {
    const rng = this.rng;
    for (;;) {
      const decade = this.decades.pick(rng);
      const year = Math.min(decade + rng.int(0, 9), adult ? 1998 : 2004);
      const month = rng.int(1, 12);
      const day = rng.int(1, daysInMonth(year, month));
      const male = rng.chance(0.5);
      const genderDigit = rng.pick(male ? [1, 3, 5, 7, 9] : [0, 2, 4, 6, 8]);
      const prefix = rng.chance(0.9) ? homeDistrict : rng.pick(this.districtCodes);
      const id = withCheckDigit(`${prefix}${year}${pad(month, 2)}${pad(day, 2)}${pad(rng.int(0, 99), 2)}${genderDigit}`);
      if (this.ids.has(id)) continue;
      this.ids.add(id);
      const name = this.surname() + rng.pick(GIVEN_NAMES[male ? 'm' : 'f'][eraOf(year)]);
      return { name, national_id: id };
    }
  }
}

/**
 * Lays out the demo bank over the real Qingdao divisions: a branch per district, service points in
 * villages (rural 村委会 first, spread by how rural each district is), shops, agents and customers
 * living in those villages. Pure and deterministic: the same regions and scale give the same world.
 */
export function buildWorld(regions: readonly ReferenceRegion[], scale: DemoScale): DemoWorld {
  const root = new Rng(DEMO_SEED);
  const spRng = root.fork(1);
  const shopRng = root.fork(2);
  const peopleRng = root.fork(3);

  const districts = regions.filter((r) => r.level === 'district');
  const districtCodes = districts.map((d) => d.code);
  const villagesOf = new Map<string, ReferenceRegion[]>(districtCodes.map((c) => [c, []]));
  for (const r of regions) if (r.level === 'village') villagesOf.get(r.code.slice(0, 6))?.push(r);
  const placeOf = (village: ReferenceRegion): Place => {
    const short = villageShortName(village.name);
    return { village, town: village.code.slice(0, 9), district: village.code.slice(0, 6), short, rural: isRuralVillage(village.name) };
  };

  const branches: BranchPlan[] = districts.map((d) => {
    const names = branchNames(d.name, d.en, d.code);
    return { district: d, code: branchCode(d.code), name: names.zh, name_en: names.en };
  });

  // Service points per district: a floor for the city districts, the rest by rural villages.
  const ruralCounts = districtCodes.map((c) => villagesOf.get(c)!.filter((v) => isRuralVillage(v.name)).length);
  const nD = districtCodes.length;
  let quotas: number[];
  if (scale.servicePoints < nD) {
    const order = districtCodes.map((_, i) => i).sort((a, b) => ruralCounts[b]! - ruralCounts[a]!);
    quotas = districtCodes.map(() => 0);
    for (const i of order.slice(0, scale.servicePoints)) quotas[i] = 1;
  } else {
    const floor = Math.max(1, Math.floor(scale.servicePoints * 0.03));
    const rest = apportion(scale.servicePoints - floor * nD, ruralCounts);
    quotas = rest.map((r) => r + floor);
  }
  const servicePoints: ServicePointPlan[] = [];
  const spVillagesOf = new Map<string, Place[]>();
  districtCodes.forEach((code, i) => {
    const all = villagesOf.get(code)!;
    const rural = spRng.shuffle(all.filter((v) => isRuralVillage(v.name)));
    const other = spRng.shuffle(all.filter((v) => !isRuralVillage(v.name)));
    const chosen = [...rural, ...other].slice(0, quotas[i]).sort((a, b) => (a.code < b.code ? -1 : 1));
    spVillagesOf.set(code, chosen.map(placeOf));
    for (const v of chosen) {
      const place = placeOf(v);
      servicePoints.push({
        place,
        code: `${BANK_CODE}-SP-${v.code}`,
        name: `${place.short}助农服务点`,
        name_en: `Service point ${v.code}`,
        agent: null,
      });
    }
  });

  const people = new People(peopleRng, districtCodes);

  // Agents run a service point: rural ones first.
  const candidates = [
    ...spRng.shuffle(servicePoints.map((_, i) => i).filter((i) => servicePoints[i]!.place.rural)),
    ...spRng.shuffle(servicePoints.map((_, i) => i).filter((i) => !servicePoints[i]!.place.rural)),
  ].slice(0, Math.min(scale.agents, servicePoints.length));
  candidates.sort((a, b) => a - b);
  const agents: AgentPlan[] = candidates.map((spIndex, k) => {
    const sp = servicePoints[spIndex]!;
    sp.agent = k;
    const id = `demo:agent:${pad(k + 1, 4)}`;
    return {
      id,
      accountId: `${id}:2003`,
      ...people.person(sp.place.district, true),
      phone: people.phone(),
      place: sp.place,
      servicePoint: spIndex,
    };
  });

  // Shops: in service-point villages mostly, some in other villages of the same towns.
  const spWeights = districtCodes.map((c) => spVillagesOf.get(c)!.length);
  const otherVillagesInTowns = new Map<string, Place[]>();
  for (const code of districtCodes) {
    const towns = new Set(spVillagesOf.get(code)!.map((p) => p.town));
    const taken = new Set(spVillagesOf.get(code)!.map((p) => p.village.code));
    otherVillagesInTowns.set(
      code,
      villagesOf
        .get(code)!
        .filter((v) => towns.has(v.code.slice(0, 9)) && !taken.has(v.code))
        .map(placeOf),
    );
  }
  const shopTypes = new WeightedPicker(SHOP_TYPES);
  const shopNames = new Set<string>();
  const merchants: MerchantPlan[] = [];
  apportion(scale.merchants, spWeights).forEach((count, di) => {
    const code = districtCodes[di]!;
    const own = spVillagesOf.get(code)!;
    const other = otherVillagesInTowns.get(code)!;
    for (let k = 0; k < count; k++) {
      const place = other.length > 0 && shopRng.chance(0.25) ? shopRng.pick(other) : shopRng.pick(own);
      let name = '';
      for (let attempt = 0; ; attempt++) {
        const word = shopRng.pick(SHOP_WORDS).replace('{s}', people.surname());
        name = `${shopPrefix(place.short)}${word}${shopTypes.pick(shopRng)}${attempt > 20 ? `${attempt}号` : ''}`;
        if (!shopNames.has(name)) break;
      }
      shopNames.add(name);
      const id = `demo:merchant:${pad(merchants.length + 1, 4)}`;
      merchants.push({ id, accountId: `${id}:2002`, name, phone: people.phone(), place });
    }
  });

  // Customers live where the service points and shops are.
  const customers: CustomerPlan[] = [];
  apportion(scale.customers, spWeights).forEach((count, di) => {
    const code = districtCodes[di]!;
    const own = spVillagesOf.get(code)!;
    const other = otherVillagesInTowns.get(code)!;
    for (let k = 0; k < count; k++) {
      const place = other.length > 0 && peopleRng.chance(0.15) ? peopleRng.pick(other) : peopleRng.pick(own);
      const farmer = peopleRng.chance(place.rural ? 0.65 : 0.06);
      const id = `demo:customer:${pad(customers.length + 1, 5)}`;
      customers.push({ id, accountId: `${id}:2001`, ...people.person(place.district), phone: people.phone(), place, farmer });
    }
  });

  return { branches, servicePoints, merchants, agents, customers };
}
