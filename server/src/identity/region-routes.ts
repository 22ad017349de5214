import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { XiaoweiError } from '../platform/errors.js';
import { requireActor } from '../platform/http/actor.js';
import { StringEnum } from '../platform/http/schema-helpers.js';
import { getRegion, listRegions, REGION_LEVELS, type RegionTables } from './regions.js';

const RegionCode = Type.String({
  pattern: '^[0-9]{4,12}$',
  description: 'division code 区划代码 (city 4, district 6, town 9, village 12 digits)',
});

export const RegionSchema = Type.Object({
  code: Type.String(),
  name: Type.String({ description: 'Chinese name 中文名称' }),
  name_en: Type.Union([Type.String(), Type.Null()], { description: 'English name (districts only) 英文名称' }),
  level: StringEnum(REGION_LEVELS),
  parent_code: Type.Union([Type.String(), Type.Null()]),
});

export const RegionQuery = Type.Object(
  {
    parent: Type.Optional(RegionCode),
    level: Type.Optional(StringEnum(REGION_LEVELS)),
  },
  { additionalProperties: false },
);

export interface RegionRouteDeps {
  db: Kysely<RegionTables>;
}

/**
 * Administrative divisions for pickers and statistics. Public reference data (national statistics
 * codes), so any signed-in user may read it, merchant-side users included.
 */
export const regionRoutes: FastifyPluginAsyncTypebox<RegionRouteDeps> = async (app, { db }) => {
  app.get(
    '/regions',
    {
      schema: {
        tags: ['identity'],
        summary: 'Administrative divisions 行政区划',
        description:
          'Filter by parent (children of a region) and/or level; no filter returns every region, ordered by code. ' +
          '按上级区划（parent）和/或层级（level）筛选；不带条件时返回全部区划，按代码排序。',
        querystring: RegionQuery,
        response: { 200: Type.Array(RegionSchema) },
      },
    },
    async (request) => {
      requireActor(request);
      return listRegions(db, request.query);
    },
  );

  app.get(
    '/regions/:code',
    {
      schema: {
        tags: ['identity'],
        summary: 'One administrative division 区划详情',
        params: Type.Object({ code: RegionCode }),
        response: { 200: RegionSchema },
      },
    },
    async (request) => {
      requireActor(request);
      const region = await getRegion(db, request.params.code);
      if (!region) throw new XiaoweiError('not_found');
      return region;
    },
  );
};
