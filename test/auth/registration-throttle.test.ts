/**
 * Registrations answered EMAIL_TAKEN tell the caller an email is registered:
 * they count against the client like failed logins; nothing else does.
 */
import { describe, expect, it } from 'vitest';
import { TenancyError } from '../../src/index.js';
import { authFactory, PASSWORD } from '../support/auth.js';
import { useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const make = authFactory(client, dbName);
const CLIENT = { clientKey: '203.0.113.50' };

const outcome = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof TenancyError ? e.code : `raw ${String(e)}`),
  );

describe('registration throttle', () => {
  it('by default, 20 EMAIL_TAKEN answers per client in 15 minutes, then LOCKED even for a new email', async () => {
    let now = Date.now();
    const { auth } = make({ clock: () => new Date(now) });
    await auth.registerOrganization({ name: 'Holder', email: 'known@x.test', password: PASSWORD });
    for (let i = 0; i < 20; i++) {
      const probe = auth.registerOrganization(
        { name: `Probe ${i}`, email: 'known@x.test', password: PASSWORD },
        CLIENT,
      );
      expect(await outcome(probe)).toBe('EMAIL_TAKEN');
    }
    const locked = await auth
      .registerOrganization({ name: 'Honest', email: 'fresh@x.test', password: PASSWORD }, CLIENT)
      .catch((e: unknown) => e as TenancyError);
    expect(locked).toMatchObject({ code: 'LOCKED' });
    expect((locked as TenancyError).details.retryAfter).toBeGreaterThan(14 * 60);
    expect((locked as TenancyError).details.retryAfter).toBeLessThanOrEqual(15 * 60);
    // Another client, and a call without a client key, are not affected.
    expect(
      await outcome(
        auth.registerOrganization({ name: 'Elsewhere', email: 'e@x.test', password: PASSWORD }, { clientKey: 'b' }),
      ),
    ).toBe('ok');
    // The login throttle keeps its own counts for the same client.
    expect(await outcome(auth.login({ email: 'known@x.test', password: PASSWORD, clientKey: CLIENT.clientKey }))).toBe(
      'ok',
    );
    now += 15 * 60_000 + 1;
    expect(
      await outcome(auth.registerOrganization({ name: 'Honest', email: 'fresh@x.test', password: PASSWORD }, CLIENT)),
    ).toBe('ok');
  });

  it('successful registrations and every other refusal do not count', async () => {
    const { auth, masterDbName } = make({ registrationThrottle: { maxFailures: 2 } });
    await auth.registerOrganization({ name: 'Taken Name', email: 'owner@x.test', password: PASSWORD });
    const attempts: Array<[string, Parameters<typeof auth.registerOrganization>[0]]> = [
      ['ok', { name: 'Fine 1', email: 'f1@x.test', password: PASSWORD }],
      ['ok', { name: 'Fine 2', email: 'f2@x.test', password: PASSWORD }],
      ['ok', { name: 'Fine 3', email: 'f3@x.test', password: PASSWORD }],
      ['WEAK_PASSWORD', { name: 'Weak', email: 'w@x.test', password: 'short' }],
      ['INVALID_INPUT', { name: 'Bad Email', email: 'not an email', password: PASSWORD }],
      ['INVALID_INPUT', { name: 'Extra', email: 'x@x.test', password: PASSWORD, role: 'owner' } as never],
      ['INVALID_NAME', { name: '   ', email: 'n@x.test', password: PASSWORD }],
      ['TENANT_EXISTS', { name: 'TAKEN name', email: 't@x.test', password: PASSWORD }],
      ['TENANT_EXISTS', { name: 'Taken-Name', email: 'owner@x.test', password: PASSWORD }],
    ];
    for (const [expected, input] of attempts)
      expect(await outcome(auth.registerOrganization(input, CLIENT))).toBe(expected);
    expect(await client.db(masterDbName).collection('auth_failures').countDocuments()).toBe(0);
    for (let i = 0; i < 2; i++) {
      const probe = auth.registerOrganization(
        { name: `Probe ${i}`, email: 'owner@x.test', password: PASSWORD },
        CLIENT,
      );
      expect(await outcome(probe)).toBe('EMAIL_TAKEN');
    }
    expect(
      await outcome(auth.registerOrganization({ name: 'Next', email: 'next@x.test', password: PASSWORD }, CLIENT)),
    ).toBe('LOCKED');
  });

  it('20 concurrent probes from one client with a limit of 5: at most 5 reach the database as EMAIL_TAKEN', async () => {
    const { auth } = make({ registrationThrottle: { maxFailures: 5 } });
    await auth.registerOrganization({ name: 'Holder', email: 'known@x.test', password: PASSWORD });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        outcome(auth.registerOrganization({ name: `Burst ${i}`, email: 'known@x.test', password: PASSWORD }, CLIENT)),
      ),
    );
    expect(outcomes.filter((o) => o === 'EMAIL_TAKEN').length).toBeLessThanOrEqual(5);
    expect(outcomes.filter((o) => o !== 'EMAIL_TAKEN').every((o) => o === 'LOCKED')).toBe(true);
  });

  it.each([
    ['a zero limit', { maxFailures: 0 }],
    ['a window under a second', { windowMs: 10 }],
    ['an unknown setting', { maxProbes: 3 }],
  ])('refuses %s as INVALID_OPTIONS', (_label, registrationThrottle) => {
    expect(() => make({ registrationThrottle: registrationThrottle as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('refuses an invalid client key as INVALID_INPUT and records nothing', async () => {
    const { auth, masterDbName } = make();
    for (const options of [{ clientKey: '' }, { clientKey: 7 }, { other: 'x' }]) {
      expect(
        await outcome(
          auth.registerOrganization({ name: 'Opts', email: 'o@x.test', password: PASSWORD }, options as never),
        ),
      ).toBe('INVALID_INPUT');
    }
    expect(await client.db(masterDbName).collection('auth_failures').countDocuments()).toBe(0);
  });
});
