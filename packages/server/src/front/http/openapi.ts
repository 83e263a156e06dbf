/**
 * The OpenAPI 3.1 description of the REST front, served at /v1/openapi.json. Kept beside the
 * routes it describes; a test checks that every registered route appears here.
 */
const errorResponse = { description: 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const objectResponse = { description: 'The object', content: { 'application/json': { schema: { $ref: '#/components/schemas/Object' } } } };
const writeResponse = { description: 'Written', content: { 'application/json': { schema: { $ref: '#/components/schemas/Written' } } } };
const spaceParam = { name: 'space', in: 'path', required: true, schema: { type: 'string' } };
const keyParam = { name: 'key', in: 'path', required: true, schema: { type: 'string' } };
const ifMatch = { name: 'If-Match', in: 'header', schema: { type: 'string' }, description: 'Expected version: compare-and-swap (412 cmp_fail otherwise)' };
const returnPrevious = { name: 'return', in: 'query', schema: { enum: ['previous'] }, description: 'Answer with the object as it was before' };

export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: { title: 'spacekv REST API', version: '1', description: 'Typed, transactional key-value spaces. Error codes: docs/errors.md.' },
  paths: {
    '/v1/spaces': {
      get: { summary: 'list_spaces', responses: { 200: { description: 'Every space' } } },
      post: {
        summary: 'add_space',
        requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { schema: {} } } }, 'text/plain': { schema: { type: 'string' } } } },
        responses: { 201: { description: 'Created' }, 400: errorResponse, 409: errorResponse },
      },
    },
    '/v1/spaces/{space}': {
      parameters: [spaceParam],
      get: { summary: 'describe_space', responses: { 200: { description: 'The space' }, 404: errorResponse } },
      delete: { summary: 'rm_space', responses: { 200: { description: 'Removed' }, 404: errorResponse } },
    },
    '/v1/spaces/{space}/objects/{key}': {
      parameters: [spaceParam, keyParam],
      get: {
        summary: 'get / get_partial',
        parameters: [{ name: 'select', in: 'query', schema: { type: 'string' }, description: 'Comma-separated attributes (get_partial)' }],
        responses: { 200: objectResponse, 404: errorResponse },
      },
      put: {
        summary: 'put / put_if_not_exist / compare_and_swap / get_and_put',
        parameters: [
          ifMatch,
          { name: 'If-None-Match', in: 'header', schema: { const: '*' }, description: 'Create only if absent (412 exists otherwise)' },
          { name: 'expire_in', in: 'query', schema: { type: 'number' }, description: 'Seconds until the object expires' },
          returnPrevious,
        ],
        requestBody: { content: { 'application/json': { schema: { type: 'object', description: 'Attributes to set' } } } },
        responses: { 200: writeResponse, 201: writeResponse, 400: errorResponse, 404: errorResponse, 412: errorResponse, 413: errorResponse },
      },
      patch: {
        summary: 'mutate',
        requestBody: {
          content: {
            'application/json': {
              schema: { type: 'object', properties: { mutations: { type: 'array' }, if: { type: 'object' }, expire_in: { type: ['number', 'null'] } } },
            },
          },
        },
        responses: { 200: writeResponse, 400: errorResponse, 404: errorResponse, 412: errorResponse, 422: errorResponse },
      },
      delete: { summary: 'del / get_and_del', parameters: [ifMatch, returnPrevious], responses: { 200: { description: 'Deleted' }, 404: errorResponse, 412: errorResponse } },
    },
    '/v1/ops': {
      post: {
        summary: 'Any operation in its wire form (docs/protocol.md)',
        requestBody: { content: { 'application/json': { schema: { type: 'object', required: ['op'] } } } },
        responses: {
          200: { description: 'Result' }, 201: { description: 'Created' }, 400: errorResponse, 404: errorResponse, 409: errorResponse, 412: errorResponse,
        },
      },
    },
    '/v1/tx': {
      post: {
        summary: 'tx: checks and single-key operations over several keys and spaces, all or nothing (docs/transactions.md)',
        requestBody: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  op: { const: 'tx' },
                  checks: { type: 'array', items: { $ref: '#/components/schemas/TxCheck' } },
                  ops: { type: 'array', items: { type: 'object', required: ['op'], description: 'A single-key operation in its wire form' } },
                },
              },
            },
          },
        },
        responses: {
          200: { description: 'Every check held and every operation succeeded', content: { 'application/json': { schema: { $ref: '#/components/schemas/Tx' } } } },
          400: errorResponse,
          404: errorResponse,
          409: { ...errorResponse, description: 'tx_failed: nothing was applied; error.failures says which checks or operation failed' },
          413: errorResponse,
        },
      },
    },
    '/v1/events': {
      get: {
        summary: 'watch: change events as server-sent events (event `change`, data = the event JSON, id = its seq on the last event of each seq)',
        parameters: [
          { name: 'space', in: 'query', schema: { type: 'string' }, description: 'Only this space (needed by key, prefix and if)' },
          { name: 'key', in: 'query', schema: { type: 'string' }, description: 'Only this object' },
          { name: 'prefix', in: 'query', schema: { type: 'string' }, description: 'Only string keys with this prefix' },
          { name: 'since', in: 'query', schema: { type: 'integer', minimum: 0 }, description: 'Start after this seq (default: from now)' },
          { name: 'ops', in: 'query', schema: { type: 'string' }, description: 'Comma-separated operation names' },
          { name: 'if', in: 'query', schema: { type: 'string' }, description: 'A JSON condition on the new attributes (deletions always pass)' },
          { name: 'Last-Event-ID', in: 'header', schema: { type: 'string' }, description: 'Resume after this seq (wins over since)' },
        ],
        responses: {
          200: { description: 'An endless text/event-stream; an `error` event (data = the error JSON, e.g. compacted) ends it', content: { 'text/event-stream': {} } },
          400: errorResponse, 404: errorResponse, 503: errorResponse,
        },
      },
    },
    '/healthz': {
      get: {
        summary: 'Health: status, detail and, per part (background tasks, the AMQP front), its state; 200 while the store serves, even with a part degraded',
        responses: { 200: { description: 'Serving' }, 503: { description: 'Not serving' } },
      },
    },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Text exposition format' } } } },
    '/v1/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
  },
  components: {
    schemas: {
      Error: {
        type: 'object',
        properties: {
          ok: { const: false },
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: {
              code: { type: 'string' }, message: { type: 'string' }, version: { type: 'integer' },
              failures: { type: 'array', items: { $ref: '#/components/schemas/TxFailure' } },
            },
          },
        },
      },
      TxFailure: {
        type: 'object',
        required: ['at', 'index', 'code', 'message', 'version'],
        properties: {
          at: { enum: ['check', 'op'] }, index: { type: 'integer' }, code: { type: 'string' }, message: { type: 'string' }, version: { type: 'integer' },
        },
      },
      TxCheck: {
        type: 'object',
        required: ['space', 'key'],
        description: 'Exactly one of exists, version, if',
        properties: { space: { type: 'string' }, key: {}, exists: { type: 'boolean' }, version: { type: 'integer' }, if: { type: 'object' } },
      },
      Tx: {
        type: 'object',
        properties: {
          ok: { const: true },
          seq: { type: ['integer', 'null'], description: 'The version of every object the tx wrote; null when it wrote nothing' },
          results: { type: 'array', description: 'One result per operation, in order' },
        },
      },
      Object: {
        type: 'object',
        properties: { ok: { const: true }, key: {}, version: { type: 'integer' }, attributes: { type: 'object' } },
      },
      Written: {
        type: 'object',
        properties: { ok: { const: true }, key: {}, version: { type: 'integer' }, created: { type: 'boolean' }, attributes: { type: 'object' }, previous: {} },
      },
    },
  },
} as const;
