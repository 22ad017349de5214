import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { XiaoweiError, localeFrom, renderMessage, type ErrorCode } from '../errors.js';

interface AjvIssue {
  instancePath?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function describeValidation(error: FastifyError): string {
  const issue = (error.validation?.[0] ?? {}) as AjvIssue;
  const where = `${error.validationContext ?? 'body'}${issue.instancePath ?? ''}`;
  const extra = issue.params?.additionalProperty ? ` '${JSON.stringify(issue.params.additionalProperty)}'` : '';
  return `${where} ${issue.message ?? 'is invalid'}${extra}`.slice(0, 300);
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
};

/** Maps any error to the registry's shape; unknown errors become `internal` without details. */
export function toXiaoweiError(error: unknown): XiaoweiError {
  if (error instanceof XiaoweiError) return error;
  const fe = error as FastifyError;
  if (fe.validation) return new XiaoweiError('validation_failed', describeValidation(fe));
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped) return new XiaoweiError(mapped);
  if (error instanceof SyntaxError) return new XiaoweiError('malformed_json');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new XiaoweiError('validation_failed', fe.code ?? 'bad request');
  }
  return new XiaoweiError('internal');
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: XiaoweiError): FastifyReply {
  const locale = localeFrom(request.headers['accept-language']);
  const detail = error.code === 'internal' ? request.id : error.detail;
  return reply.status(error.status).send({
    error: {
      code: error.code,
      message: renderMessage(error.code, locale, detail),
      messages: { 'zh-CN': renderMessage(error.code, 'zh-CN', detail), en: renderMessage(error.code, 'en', detail) },
      ...(error.data ? { data: error.data } : {}),
    },
    request_id: request.id,
  });
}

/** Installs the one error handler: every failure leaves as a typed error in zh-CN and en. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const xe = toXiaoweiError(error);
    if (xe.code === 'internal') request.log.error({ err: error }, 'unhandled error');
    return sendError(request, reply, xe);
  });
  app.setNotFoundHandler((request, reply) => sendError(request, reply, new XiaoweiError('route_not_found', `${request.method} ${request.url.split('?')[0]}`.slice(0, 200))));
}
