/**
 * Word lists for demo data that looks like a Qingdao county: surnames weighted roughly as they
 * occur in eastern Shandong, given names by generation, village-shop names, and the produce the
 * districts are known for. Invented people; real places (see reference/README.md).
 */

/** Surname and relative weight. */
// prettier-ignore
export const SURNAMES: readonly (readonly [string, number])[] = [
  ['王', 14], ['张', 9], ['李', 8], ['刘', 7], ['孙', 4.5], ['于', 4.5], ['杨', 3.5], ['徐', 3], ['姜', 3],
  ['赵', 3], ['高', 3], ['宋', 2.5], ['陈', 2.5], ['周', 2], ['董', 2], ['马', 2], ['郭', 2], ['崔', 1.8],
  ['韩', 1.5], ['曲', 1.5], ['林', 1.5], ['吕', 1.3], ['薛', 1.2], ['丁', 1.2], ['袁', 1], ['邢', 1], ['纪', 1],
  ['臧', 0.8], ['栾', 0.8], ['隋', 0.8], ['范', 0.8], ['胡', 0.8], ['朱', 0.9], ['黄', 0.8], ['矫', 0.5],
  ['逄', 0.5], ['修', 0.5], ['管', 0.6], ['匡', 0.4], ['綦', 0.3], ['仇', 0.5], ['江', 0.6], ['宫', 0.6],
  ['毛', 0.6], ['房', 0.5], ['尹', 0.6], ['程', 0.6], ['冷', 0.4], ['贾', 0.6], ['蓝', 0.3], ['城', 0.2],
];

type Era = 'old' | 'mid' | 'young';

/** Given names by gender and by the decade people were born in. */
// prettier-ignore
export const GIVEN_NAMES: Record<'m' | 'f', Record<Era, readonly string[]>> = {
  m: {
    old: ['建国', '建华', '国庆', '国强', '志刚', '振华', '德福', '德胜', '永福', '永安', '春生', '长山', '玉山', '树林', '宝山',
      '洪亮', '福来', '福顺', '金河', '立新', '卫东', '学文', '继光', '明亮', '庆祥', '守田', '连生', '世荣', '广田', '保国'],
    mid: ['伟', '军', '勇', '强', '磊', '刚', '涛', '斌', '鹏', '杰', '海涛', '建军', '红军', '晓东', '志强', '文斌', '海波',
      '永强', '立军', '春雷', '新华', '明', '东', '健', '波', '亮', '峰', '超', '鑫', '庆华'],
    young: ['浩', '宇', '博', '鹏飞', '浩然', '子豪', '俊杰', '宇航', '一鸣', '志远', '晨阳', '天宇', '家豪', '嘉伟', '明轩',
      '泽宇', '振宇', '凯', '文博', '思远', '昊天', '子健', '永康', '帅', '旭'],
  },
  f: {
    old: ['秀英', '桂兰', '玉兰', '淑珍', '凤英', '秀兰', '桂英', '玉梅', '秀珍', '淑英', '桂芝', '翠花', '玉珍', '素芳', '兰英',
      '春梅', '金凤', '凤兰', '秀云', '爱华', '玉芝', '秀芳', '桂香', '淑华', '美兰'],
    mid: ['丽', '静', '敏', '燕', '艳', '娟', '霞', '红', '芳', '丽娟', '海燕', '红梅', '晓燕', '丽华', '春燕', '秀梅', '玉霞',
      '美玲', '晓丽', '雪梅', '翠玲', '丽丽', '淑娟', '凤霞', '慧'],
    young: ['欣怡', '雨涵', '梓涵', '思雨', '佳怡', '雪', '婷婷', '晓雪', '梦瑶', '雅琪', '文静', '晶晶', '诗琪', '欣然', '悦',
      '可欣', '佳琪', '子怡', '静怡', '紫涵', '倩', '楠', '萌萌', '丹', '璐'],
  },
};

export function eraOf(birthYear: number): Era {
  return birthYear < 1970 ? 'old' : birthYear < 1990 ? 'mid' : 'young';
}

/** Birth decades of rural bank customers (older than the city average) and their weights. */
// prettier-ignore
export const BIRTH_DECADES: readonly (readonly [number, number])[] = [
  [1950, 17], [1960, 23], [1970, 21], [1980, 17], [1990, 14], [2000, 8],
];

/** Kinds of village shop and their relative frequency. */
// prettier-ignore
export const SHOP_TYPES: readonly (readonly [string, number])[] = [
  ['便利店', 4], ['超市', 3.5], ['农资店', 3], ['百货店', 2], ['果蔬店', 2], ['粮油店', 2], ['小卖部', 2], ['五金店', 1],
  ['烟酒店', 1], ['早餐店', 1], ['馒头房', 1], ['饭店', 1], ['水果店', 1], ['海鲜店', 0.8], ['理发店', 0.7],
  ['豆腐坊', 0.5], ['手机店', 0.5], ['建材店', 0.5],
];

/** Words between the village and the kind of shop; `{s}` is replaced by a surname. */
// prettier-ignore
export const SHOP_WORDS: readonly string[] = [
  '', '', '', '惠民', '兴旺', '丰收', '顺发', '利民', '福源', '鑫源', '永兴', '便民', '家家乐', '好邻居', '{s}记', '老{s}', '{s}家',
];

/**
 * Short name of a village-level unit: '北马连村村委会' → '北马连村', '大泽山村民委员会' → '大泽山村',
 * '振华路居委会' → '振华路社区', '管家大村社区居民委员会' → '管家大村社区'.
 */
export function villageShortName(name: string): string {
  const rural = name.replace(/(村民委员会|村委会|村民委会|民委会)$/, '');
  if (rural !== name) return rural.endsWith('村') ? rural : `${rural}村`;
  const urban = name.replace(/(居民委员会|居委会)$/, '');
  if (urban !== name) return urban.endsWith('社区') ? urban : `${urban}社区`;
  return name;
}

/** A 村民委员会 / 村委会: a rural village, where service points are most needed. */
export function isRuralVillage(name: string): boolean {
  return /(村民委员会|村委会|村民委会)$/.test(name);
}

/** What a shop puts before its kind: the village ('北马连村'), or the street ('振华路') in a town. */
export function shopPrefix(villageShort: string): string {
  return villageShort.endsWith('社区') ? villageShort.slice(0, -2) : villageShort;
}

/** '市南区' → '市南支行'; 'Shinan District' → 'Shinan Branch'. */
export function branchNames(districtName: string, districtEn: string | undefined, code: string): { zh: string; en: string } {
  const zh = `${districtName.replace(/[区市县]$/, '')}支行`;
  const en = districtEn ? `${districtEn.replace(/\s+(District|City|County)$/, '')} Branch` : `Branch ${code}`;
  return { zh, en };
}

export interface Crop {
  key: string;
  zh: string;
  /** Season as [month, day] start and end, inclusive; wraps over the new year when end < start. */
  season: readonly [readonly [number, number], readonly [number, number]] | 'all-year';
  /** Purchase price range, fen per kg. */
  price: readonly [number, number];
  /** Typical lot per farmer and sale, kg. */
  kg: readonly [number, number];
  /** Weight of the crop by district code. */
  districts: Readonly<Record<string, number>>;
}

/** Produce bought in the field, by season (what the districts of Qingdao are known for). */
// prettier-ignore
export const CROPS: readonly Crop[] = [
  { key: 'wheat', zh: '小麦', season: [[6, 1], [6, 25]], price: [240, 290], kg: [500, 8000], districts: { 370283: 1, 370285: 0.8, 370281: 0.8, 370215: 0.8, 370211: 0.5 } },
  { key: 'corn', zh: '玉米', season: [[9, 20], [11, 20]], price: [200, 250], kg: [800, 10000], districts: { 370283: 1, 370285: 0.8, 370281: 0.8, 370215: 0.8, 370211: 0.5 } },
  { key: 'peanuts', zh: '花生', season: [[9, 1], [10, 15]], price: [800, 1000], kg: [200, 3000], districts: { 370285: 1, 370283: 0.8, 370215: 0.6, 370281: 0.5, 370211: 0.4 } },
  { key: 'apples', zh: '苹果', season: [[9, 25], [11, 15]], price: [300, 700], kg: [300, 5000], districts: { 370283: 0.5, 370285: 0.5, 370211: 0.4, 370212: 0.2 } },
  { key: 'grapes', zh: '大泽山葡萄', season: [[8, 10], [10, 10]], price: [500, 1200], kg: [200, 2500], districts: { 370283: 1 } },
  { key: 'cabbage', zh: '胶州大白菜', season: [[10, 25], [12, 15]], price: [60, 150], kg: [2000, 15000], districts: { 370281: 1, 370283: 0.3 } },
  { key: 'celery', zh: '马家沟芹菜', season: [[10, 10], [2, 28]], price: [150, 350], kg: [1000, 8000], districts: { 370283: 0.8 } },
  { key: 'spring-tea', zh: '崂山春茶', season: [[4, 15], [6, 10]], price: [6000, 20000], kg: [5, 150], districts: { 370212: 1, 370211: 0.3 } },
  { key: 'autumn-tea', zh: '崂山秋茶', season: [[8, 20], [10, 10]], price: [4000, 12000], kg: [5, 150], districts: { 370212: 0.7, 370211: 0.2 } },
  { key: 'cherries', zh: '樱桃', season: [[5, 10], [6, 15]], price: [1500, 4000], kg: [50, 800], districts: { 370212: 0.8, 370214: 0.6, 370211: 0.4 } },
  { key: 'blueberries', zh: '蓝莓', season: [[6, 1], [7, 31]], price: [2500, 6000], kg: [50, 800], districts: { 370211: 1 } },
  { key: 'melons', zh: '马连庄甜瓜', season: [[5, 20], [7, 10]], price: [300, 800], kg: [200, 3000], districts: { 370285: 1 } },
  { key: 'sweet-potatoes', zh: '地瓜', season: [[9, 25], [11, 20]], price: [120, 250], kg: [1000, 10000], districts: { 370215: 0.6, 370285: 0.5, 370283: 0.4 } },
  { key: 'strawberries', zh: '大棚草莓', season: [[12, 1], [4, 30]], price: [1500, 3500], kg: [50, 800], districts: { 370215: 0.5, 370214: 0.5, 370211: 0.3 } },
  { key: 'vegetables', zh: '大棚蔬菜', season: 'all-year', price: [150, 500], kg: [300, 4000], districts: { 370214: 0.25, 370215: 0.2, 370281: 0.2, 370283: 0.2, 370285: 0.15, 370211: 0.15, 370212: 0.1 } },
  { key: 'hogs', zh: '生猪', season: 'all-year', price: [1300, 1800], kg: [200, 2500], districts: { 370283: 0.15, 370285: 0.15, 370281: 0.1, 370215: 0.1 } },
];

/** Spring Festival (春节) dates, for the spending peak before it. */
// prettier-ignore
export const SPRING_FESTIVAL: readonly string[] = [
  '2024-02-10', '2025-01-29', '2026-02-17', '2027-02-06', '2028-01-26', '2029-02-13', '2030-02-03', '2031-01-23',
  '2032-02-11', '2033-01-31', '2034-02-19', '2035-02-08',
];

/** Mid-Autumn Festival (中秋) dates. */
// prettier-ignore
export const MID_AUTUMN: readonly string[] = [
  '2024-09-17', '2025-10-06', '2026-09-25', '2027-09-15', '2028-10-03', '2029-09-22', '2030-09-12', '2031-10-01',
  '2032-09-19', '2033-09-08', '2034-09-27', '2035-09-16',
];
