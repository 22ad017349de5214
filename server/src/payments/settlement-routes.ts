import type { FastifyPluginAsync } from 'fastify';
import type { PaymentsDeps } from './deps.js';

/** The settlement part's routes (staff, terminal and customer), under /api/v1. Filled in by that part. */
export const settlementRoutes: FastifyPluginAsync<PaymentsDeps> = async () => {};
