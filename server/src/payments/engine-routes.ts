import type { FastifyPluginAsync } from 'fastify';
import type { PaymentsDeps } from './deps.js';

/** The engine part's routes (staff, terminal and customer), under /api/v1. Filled in by that part. */
export const engineRoutes: FastifyPluginAsync<PaymentsDeps> = async () => {};
