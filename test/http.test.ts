import { describe, expect, it } from 'vitest';
import { bearerToken, requireBearerToken, TenancyError, toProblem } from '../src/index.js';

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
});
