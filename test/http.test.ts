import { describe, expect, it } from 'vitest';
import { bearerToken, isTenancyError, requireBearerToken, TenancyError, toProblem } from '../src/index.js';

describe('bearerToken', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc.def-_~+/=', 'abc.def-_~+/='],
    ['Bearer   spaced', 'spaced'],
    ['Basic dXNlcjpwYXNz', null],
    ['Bearer', null],
    ['Bearer a b', null],
    ['Bearer <script>', null],
    [undefined, null],
    [['Bearer x', 'Bearer y'], null],
    [`Bearer ${'a'.repeat(9000)}`, null],
  ])('%j → %j', (header, token) => {
    expect(bearerToken(header as never)).toBe(token);
  });

  it('requireBearerToken throws TOKEN_INVALID without one', () => {
    expect(() => requireBearerToken(undefined)).toThrow(expect.objectContaining({ code: 'TOKEN_INVALID' }));
  });

  it.each([
    [undefined, 'missing'],
    [null, 'missing'],
    ['', 'missing'],
    ['Basic dXNlcjpwYXNz', 'missing'],
    ['Bearer', undefined],
    ['Bearer <script>', undefined],
    [['Bearer x', 'Bearer y'], undefined],
  ])('requireBearerToken(%j): details.reason %j', (header, reason) => {
    let thrown: unknown;
    try {
      requireBearerToken(header as never);
    } catch (error) {
      thrown = error;
    }
    expect(isTenancyError(thrown, 'TOKEN_INVALID')).toBe(true);
    expect((thrown as TenancyError).details.reason).toBe(reason);
  });
});

describe('toProblem', () => {
  it('maps codes to statuses and problem bodies', () => {
    expect(toProblem(new TenancyError('TENANT_EXISTS'))).toMatchObject({
      status: 409,
      expected: true,
      body: { type: 'urn:mongo-tenancy:error:TENANT_EXISTS', status: 409, code: 'TENANT_EXISTS' },
    });
    expect(toProblem(new TenancyError('FORBIDDEN')).status).toBe(403);
    expect(toProblem(new TenancyError('TENANT_NOT_FOUND')).status).toBe(404);
  });

  it('401s carry WWW-Authenticate, 429s Retry-After', () => {
    expect(toProblem(new TenancyError('TOKEN_EXPIRED')).headers).toEqual({
      'www-authenticate': 'Bearer error="invalid_token"',
    });
    expect(toProblem(new TenancyError('TOKEN_REVOKED')).headers).toEqual({
      'www-authenticate': 'Bearer error="invalid_token"',
    });
    expect(toProblem(new TenancyError('TOKEN_INVALID')).headers).toEqual({
      'www-authenticate': 'Bearer error="invalid_token"',
    });
    const locked = toProblem(new TenancyError('LOCKED', undefined, { details: { retryAfter: 42 } }));
    expect(locked).toMatchObject({ status: 429, headers: { 'retry-after': '42' }, body: { retryAfter: 42 } });
  });

  it('a TENANT_UNAVAILABLE mid-operation is a 503 with Retry-After; a suspended one is a 503 without', () => {
    const busy = toProblem(new TenancyError('TENANT_UNAVAILABLE', undefined, { details: { retryAfter: 1 } }));
    expect(busy).toMatchObject({
      status: 503,
      expected: true,
      headers: { 'retry-after': '1' },
      body: { status: 503, code: 'TENANT_UNAVAILABLE', retryAfter: 1 },
    });
    const suspended = toProblem(new TenancyError('TENANT_UNAVAILABLE'));
    expect(suspended).toMatchObject({ status: 503, headers: {}, body: { code: 'TENANT_UNAVAILABLE' } });
    expect(suspended.body).not.toHaveProperty('retryAfter');
  });

  it('422s list one entry per invalid field', () => {
    const error = new TenancyError('INVALID_INPUT', 'bad', {
      details: {
        issues: [
          { path: 'email', message: 'an email address' },
          { path: 'password', message: 'required' },
        ],
      },
    });
    expect(toProblem(error).body.errors).toEqual([
      { field: 'email', message: 'an email address' },
      { field: 'password', message: 'required' },
    ]);
    expect(
      toProblem(new TenancyError('WEAK_PASSWORD', 'too short', { details: { field: 'password' } })).body.errors,
    ).toEqual([{ field: 'password', message: 'too short' }]);
  });

  it('reveals nothing about unexpected errors or storage failures', () => {
    const raw = toProblem(new Error('connection string mongodb://user:secret@host'));
    expect(raw).toMatchObject({ status: 500, expected: false, body: { code: 'INTERNAL' } });
    expect(JSON.stringify(raw.body)).not.toContain('secret');
    const storage = toProblem(
      new TenancyError('STORAGE', 'Database operation failed: insert tenant', { cause: new Error('E11000 details') }),
    );
    expect(storage).toMatchObject({
      status: 503,
      expected: false,
      body: { detail: 'The service is temporarily unavailable' },
    });
    expect(JSON.stringify(storage.body)).not.toContain('insert tenant');
  });

  it('a request without a token gets the bare Bearer challenge (RFC 6750 §3.1)', () => {
    for (const header of [undefined, 'Basic dXNlcjpwYXNz']) {
      let problem: ReturnType<typeof toProblem> | undefined;
      try {
        requireBearerToken(header);
      } catch (error) {
        problem = toProblem(error);
      }
      expect(problem).toMatchObject({ status: 401, expected: true, body: { code: 'TOKEN_INVALID' } });
      expect(problem?.headers).toEqual({ 'www-authenticate': 'Bearer' });
    }
    const malformed = (() => {
      try {
        return requireBearerToken('Bearer <script>');
      } catch (error) {
        return toProblem(error);
      }
    })();
    expect(malformed).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
  });
});

/** An error as the http-errors package (behind Express's and Koa's body parsers) makes it. */
function httpError(status: number, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { status, statusCode: status, expose: status < 500, ...extra });
}

describe("toProblem with other libraries' errors", () => {
  it.each([
    ['invalid JSON', httpError(400, 'Unexpected token } in JSON at position 9', { type: 'entity.parse.failed' }), 400],
    ['a body too large', httpError(413, 'request entity too large', { type: 'entity.too.large' }), 413],
    ['an unsupported media type', httpError(415, 'Unsupported Content-Type "text/xml"'), 415],
    ['a JSON body that does not parse (Koa)', Object.assign(new SyntaxError('Unexpected token'), { status: 400 }), 400],
  ])('%s keeps its status and counts as expected', (_label, error, status) => {
    const problem = toProblem(error);
    expect(problem).toMatchObject({
      status,
      expected: true,
      body: { status, code: 'CLIENT_ERROR', type: 'urn:mongo-tenancy:error:CLIENT_ERROR' },
    });
    expect(problem.body.title).toEqual(expect.any(String));
    expect(problem.body.detail).toEqual(expect.any(String));
  });

  it("shows a client error's message only when it is marked as exposable", () => {
    const hidden = toProblem(
      Object.assign(new Error('internal path /srv/app'), { statusCode: 400, type: 'entity.verify.failed' }),
    );
    expect(hidden.status).toBe(400);
    expect(JSON.stringify(hidden.body)).not.toContain('/srv/app');
  });

  it('a 4xx marked expose: false, a 5xx and non-errors stay unexpected 500s that reveal nothing', () => {
    for (const error of [
      httpError(400, 'secret detail', { expose: false }),
      // Another service's answer to one of our calls (an HTTP client's error) is not the caller's fault.
      Object.assign(new Error('Invalid API Key provided: sk_live_secret'), { statusCode: 401, type: 'AuthError' }),
      Object.assign(new Error('secret not found upstream'), { status: 404 }),
      httpError(503, 'upstream mongodb://user:secret@host down', { expose: true }),
      Object.assign(new Error('secret'), { status: '400' }),
      Object.assign(new Error('secret'), { status: 302 }),
      'secret',
      undefined,
      null,
    ]) {
      const problem = toProblem(error);
      expect(problem).toMatchObject({ status: 500, expected: false, body: { code: 'INTERNAL' } });
      expect(JSON.stringify(problem.body)).not.toContain('secret');
    }
  });
});

describe('errors from another copy of the library', () => {
  /** An error as another copy (the other module system's build, another version) makes it: same brand, other class. */
  function foreignError(code: string): Error {
    const error = Object.assign(new Error('from elsewhere'), { name: 'TenancyError', code, details: {} });
    Object.defineProperty(error, Symbol.for('mongo-tenancy.error'), { value: true });
    return error;
  }

  it('are recognised by their brand and keep their status', () => {
    const error = foreignError('TENANT_EXISTS');
    expect(isTenancyError(error, 'TENANT_EXISTS')).toBe(true);
    expect(error instanceof TenancyError).toBe(true);
    expect(toProblem(error)).toMatchObject({ status: 409, expected: true, body: { code: 'TENANT_EXISTS' } });
  });

  it('a code this copy does not know, or a look-alike without the brand, is not a TenancyError', () => {
    const unknown = foreignError('SOMETHING_NEW');
    const lookAlike = Object.assign(new Error('x'), { name: 'TenancyError', code: 'TENANT_EXISTS', details: {} });
    for (const error of [unknown, lookAlike]) {
      expect(isTenancyError(error)).toBe(false);
      expect(error instanceof TenancyError).toBe(false);
      expect(toProblem(error)).toMatchObject({ status: 500, expected: false, body: { code: 'INTERNAL' } });
    }
  });

  it('subclasses keep the usual instanceof', () => {
    class Special extends TenancyError {}
    expect(new Special('CONFLICT') instanceof Special).toBe(true);
    expect(new TenancyError('CONFLICT') instanceof Special).toBe(false);
    expect(new Special('CONFLICT') instanceof TenancyError).toBe(true);
  });
});
