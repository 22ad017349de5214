import type { FastifyPluginAsync } from 'fastify';
import type { PaymentsDeps } from './deps.js';

/** The merchant part's routes (staff, terminal and customer), under /api/v1. Filled in by that part. */
export const merchantRoutes: FastifyPluginAsync<PaymentsDeps> = async () => {};
