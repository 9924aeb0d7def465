/** AuthService.suspendOrganization / resumeOrganization: revocation at once in the suspending process. */
import { describe, expect, it } from 'vitest';
import { authFactory, PASSWORD, strongSecret } from '../support/auth.js';
import { useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const make = authFactory(client, dbName);

describe('suspendOrganization and resumeOrganization', () => {
  it('revokes the tokens at once with the default revocationCacheMs, and resume restores them at once', async () => {
    // The default revocationCacheMs (5,000 ms): tokens keys only, nothing else.
    const { auth, tenants } = make({ tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }] } });
    const { tenant } = await auth.registerOrganization({ name: 'Acme Corp', email: 'a@acme.test', password: PASSWORD });
    const { token } = await auth.login({ email: 'a@acme.test', password: PASSWORD });
    await expect(auth.verify(token)).resolves.toMatchObject({ tenantId: tenant.id }); // now cached as active

    expect(await auth.suspendOrganization(tenant.id)).toMatchObject({ id: tenant.id, status: 'suspended' });
    await expect(auth.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    await expect(auth.login({ email: 'a@acme.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'INVALID_CREDENTIALS',
    });
    expect((await auth.suspendOrganization(tenant.id)).status).toBe('suspended'); // harmless twice

    expect(await auth.resumeOrganization(tenant.id)).toMatchObject({ status: 'active' });
    await expect(auth.verify(token)).resolves.toMatchObject({ tenantId: tenant.id });
    expect((await tenants.get(tenant.id))?.status).toBe('active');
  });

  it('a suspend through the TenantManager alone, in the same process, is seen at once too (its onChange)', async () => {
    const { auth, tenants } = make({ tokens: { keys: [{ kid: 'k1', alg: 'HS256', secret: strongSecret() }] } });
    const { tenant } = await auth.registerOrganization({ name: 'Globex', email: 'g@globex.test', password: PASSWORD });
    const { token } = await auth.login({ email: 'g@globex.test', password: PASSWORD });
    await auth.verify(token);
    await tenants.suspend(tenant.id);
    await expect(auth.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    await tenants.resume(tenant.id);
    await expect(auth.verify(token)).resolves.toMatchObject({ tenantId: tenant.id });
  });

  it('reports a missing or invalid organization by its code', async () => {
    const { auth } = make();
    await expect(auth.suspendOrganization('0123456789abcdef01234567')).rejects.toMatchObject({
      code: 'TENANT_NOT_FOUND',
    });
    await expect(auth.resumeOrganization('0123456789abcdef01234567')).rejects.toMatchObject({
      code: 'TENANT_NOT_FOUND',
    });
    await expect(auth.suspendOrganization('Acme Corp')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});
