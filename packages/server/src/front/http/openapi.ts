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
const explainParam = { name: 'explain', in: 'query', schema: { enum: ['1', '0', 'true', 'false'] }, description: 'Say whether an index or a scan answered (plan)' };
const where = { type: 'object', description: 'Condition: attribute → value or operator object, plus "or" lists (docs/protocol.md)' };
const pageResponse = { description: 'One page', content: { 'application/json': { schema: { $ref: '#/components/schemas/Page' } } } };
const groupResponse = { description: 'Matched and changed counts', content: { 'application/json': { schema: { $ref: '#/components/schemas/Group' } } } };
const searchErrors = { 400: errorResponse, 404: errorResponse };
/** A JSON request body: an object with these properties. */
const objectBody = (properties: Record<string, unknown>, required?: readonly string[]) => ({
  content: { 'application/json': { schema: { type: 'object', ...(required ? { required } : {}), properties } } },
});
const returnPrevious = { name: 'return', in: 'query', schema: { enum: ['previous'] }, description: 'Answer with the object as it was before' };

export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: { title: 'spacekv REST API', version: '1', description: 'Typed, transactional key-value spaces. Error codes: docs/errors.md. Authentication: docs/security.md.' },
  paths: {
    '/v1/spaces': {
      get: { summary: 'list_spaces', responses: { 200: { description: 'Every space' } } },
      post: {
        summary: 'add_space',
        requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { schema: {} } } }, 'application/x-spacekv-schema': { schema: { type: 'string', description: 'The schema DSL' } } } },
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
    '/v1/spaces/{space}/objects/{key}/attributes/{attribute}': {
      parameters: [spaceParam, keyParam, { name: 'attribute', in: 'path', required: true, schema: { type: 'string' }, description: 'A bytes attribute' }],
      get: {
        summary: "A bytes attribute's value as a stream (get_partial), large or inline; with Range",
        parameters: [{ name: 'Range', in: 'header', schema: { type: 'string' }, description: 'One range: bytes=a-b, bytes=a-, bytes=-n' }],
        responses: {
          200: { description: 'The whole value', content: { 'application/octet-stream': {} } },
          206: { description: 'The range (Content-Range)', content: { 'application/octet-stream': {} } },
          404: errorResponse,
          416: errorResponse,
        },
      },
      put: {
        summary: 'A large value streamed in (put / put_if_not_exist / compare_and_swap), committed with the object when complete',
        parameters: [
          ifMatch,
          { name: 'If-None-Match', in: 'header', schema: { const: '*' }, description: 'Create only if absent (412 exists otherwise)' },
          { name: 'expire_in', in: 'query', schema: { type: 'number' }, description: 'Seconds until the object expires' },
        ],
        requestBody: { content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        // 408: too slow for the minimum-progress rule; 429: past the client's share of uploads; 503: every place taken.
        responses: {
          200: writeResponse, 201: writeResponse, 400: errorResponse, 404: errorResponse, 408: errorResponse, 412: errorResponse, 413: errorResponse, 415: errorResponse,
          429: errorResponse, 503: errorResponse,
        },
      },
    },
    '/v1/spaces/{space}/objects': {
      parameters: [spaceParam],
      get: {
        summary: 'list: objects by key range or prefix, in key order, one page',
        parameters: ['start', 'end', 'prefix', 'cursor', 'select'].map((name) => ({ name, in: 'query', schema: { type: 'string' } }))
          .concat([{ name: 'reverse', in: 'query', schema: { type: 'string' } }, { name: 'limit', in: 'query', schema: { type: 'string' } }]),
        responses: { 200: pageResponse, ...searchErrors },
      },
    },
    '/v1/spaces/{space}/search': {
      parameters: [spaceParam],
      post: {
        summary: 'search (key order, paged by cursor) or, with sort_by, sorted_search',
        parameters: [explainParam],
        requestBody: objectBody({
          where, select: { type: 'array', items: { type: 'string' } }, limit: { type: 'integer' }, cursor: { type: 'string' },
          sort_by: { type: 'string' }, order: { enum: ['asc', 'desc'] }, explain: { type: 'boolean' },
        }),
        responses: { 200: pageResponse, ...searchErrors },
      },
    },
    '/v1/spaces/{space}/count': {
      parameters: [spaceParam],
      post: {
        summary: 'count',
        parameters: [explainParam],
        requestBody: objectBody({ where, explain: { type: 'boolean' } }),
        responses: { 200: { description: '{"ok": true, "count": n}' }, ...searchErrors },
      },
    },
    '/v1/spaces/{space}/delete': {
      parameters: [spaceParam],
      post: { summary: 'group_del', requestBody: objectBody({ where }), responses: { 200: groupResponse, ...searchErrors } },
    },
    '/v1/spaces/{space}/mutate': {
      parameters: [spaceParam],
      post: {
        summary: 'group_mutate',
        requestBody: objectBody({ where, mutations: { type: 'array' } }),
        responses: { 200: groupResponse, ...searchErrors },
      },
    },
    '/v1/spaces/{space}/indexes': {
      parameters: [spaceParam],
      post: {
        summary: 'add_index: build a secondary index online; answers once it is complete and in use',
        requestBody: objectBody({ attribute: { type: 'string' } }, ['attribute']),
        responses: { 200: { description: 'The space, its indexes included' }, ...searchErrors },
      },
    },
    '/v1/spaces/{space}/indexes/{attribute}': {
      parameters: [spaceParam, { name: 'attribute', in: 'path', required: true, schema: { type: 'string' } }],
      delete: {
        summary: 'rm_index: drop a secondary index (an attribute or a document path such as info.name); searches scan from then on',
        responses: { 200: { description: 'The space, its remaining indexes included' }, ...searchErrors },
      },
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
        requestBody: objectBody({
          op: { const: 'tx' },
          checks: { type: 'array', items: { $ref: '#/components/schemas/TxCheck' } },
          ops: { type: 'array', items: { type: 'object', required: ['op'], description: 'A single-key operation in its wire form' } },
        }),
        responses: {
          200: { description: 'Every check held and every operation succeeded', content: { 'application/json': { schema: { $ref: '#/components/schemas/Tx' } } } },
          400: errorResponse,
          404: errorResponse,
          409: { ...errorResponse, description: 'tx_failed: nothing was applied; error.failures says which checks or operation failed' },
          413: { ...errorResponse, description: 'too_large: the tx is past txOpsMax, or its results passed txReplyBytesMax' },
          422: { ...errorResponse, description: 'too_costly: its conditions would take more than conditionStepsMax steps' },
          503: errorResponse,
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
    '/v1/backup': {
      get: {
        summary: 'An online backup: a backup file (a manifest line with seq, size and SHA-256, then a SQLite snapshot) consistent at one seq, taken while writes go on (docs/operations.md)',
        responses: {
          200: { description: 'The backup file; header spacekv-backup-seq holds its seq', content: { 'application/octet-stream': {} } },
          400: errorResponse, 503: errorResponse,
        },
      },
    },
    '/healthz': {
      get: {
        summary: 'Health: status, detail and, per part (background tasks, the AMQP front), its state; 200 while the store serves, even with a part degraded',
        responses: { 200: { description: 'Serving' }, 503: { description: 'Not serving' } },
      },
    },
    '/metrics': { get: { summary: 'Prometheus metrics (with tokens on: a token granting read on every space, unless --public-metrics)', responses: { 200: { description: 'Text exposition format' } } } },
    '/v1/tokens': {
      get: { summary: 'List token records (never a secret); needs admin on every space', responses: { 200: { description: '{"tokens": [{id, label, created_at, caveats, revoked}]}' }, 401: errorResponse, 403: errorResponse } },
      post: {
        summary: 'Create a token record and its token; needs admin on every space (docs/security.md)',
        requestBody: objectBody({
          label: { type: 'string' },
          ops: { type: 'array', items: { enum: ['read', 'write', 'admin', 'watch'] } },
          spaces: { type: 'array', items: { type: 'string', description: "A name, a prefix ending in '*', or '*'" } },
          keys: { type: 'string', description: 'A key prefix' },
          expires_in: { type: 'integer', description: 'Seconds' },
        }),
        responses: { 201: { description: '{"id", "token"}' }, 400: errorResponse, 401: errorResponse, 403: errorResponse },
      },
    },
    '/v1/tokens/{id}': {
      delete: {
        summary: 'Revoke a token record: every token issued from it, attenuated or not, is refused at once on every server',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'Revoked' }, 401: errorResponse, 403: errorResponse, 404: errorResponse },
      },
    },
    '/v1/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    '/console': { get: { summary: 'The web console (an HTML page; no-cache)', responses: { 200: { description: 'HTML' }, 304: { description: 'Not modified' } } } },
    '/console/assets/{file}': {
      get: {
        summary: 'A script or stylesheet of the web console, named by its content hash (immutable)',
        parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'JavaScript or CSS' }, 304: { description: 'Not modified' }, 404: errorResponse },
      },
    },
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
      Page: {
        type: 'object',
        properties: {
          ok: { const: true },
          objects: { type: 'array', items: { type: 'object', properties: { key: {}, version: { type: 'integer' }, attributes: { type: 'object' } } } },
          cursor: { type: 'string', description: 'Opaque; absent on the last page' },
          plan: { type: 'object', description: 'With explain: {"kind": "index", "attribute", "counted_from_index"?} or {"kind": "scan"}' },
        },
      },
      Group: { type: 'object', properties: { ok: { const: true }, matched: { type: 'integer' }, changed: { type: 'integer' } } },
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
