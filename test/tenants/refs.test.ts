/**
 * A lookup by id never resolves to another tenant: ids are public, and anyone may name an organization with 24 hex
 * digits. Each method that takes a tenant is tried with a dropped victim's id while an organization named with that id
 * exists: each answers as for a tenant that is gone, and the impostor is left as it was.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuthContext, AuthService, Tenant, TenantManager } from '../../src/index.js';
import { authFactory, PASSWORD } from '../support/auth.js';
import { useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const make = authFactory(client, dbName);

describe('a dropped tenant id while another organization is named with it', () => {
  let tenants: TenantManager;
  let auth: AuthService;
  let victim: Tenant;
  let impostor: Tenant;
  let victimCtx: AuthContext;
  let victimToken: string;

  beforeAll(async () => {
    ({ tenants, auth } = make());
    victim = (await auth.registerOrganization({ name: 'Victim Inc', email: 'v@victim.test', password: PASSWORD }))
      .tenant;
    victimToken = (await auth.login({ email: 'v@victim.test', password: PASSWORD })).token;
    victimCtx = await auth.verify(victimToken);
    impostor = (await auth.registerOrganization({ name: victim.id, email: 'i@impostor.test', password: PASSWORD }))
      .tenant;
    expect(impostor.name).toBe(victim.id);
    await tenants.scope(impostor).collection().insertOne({ owner: 'impostor' });
    expect(await tenants.drop(victim.id)).toBe(true);
  });

  it('get by id finds nothing; get by name finds the impostor', async () => {
    expect(await tenants.get(victim.id)).toBeNull();
    expect(await tenants.get({ id: victim.id })).toBeNull();
    expect((await tenants.get({ name: victim.id }))?.id).toBe(impostor.id);
  });

  it('drop, rename, suspend and resume by id touch nothing', async () => {
    expect(await tenants.drop(victim.id)).toBe(false);
    await expect(tenants.rename(victim.id, 'Taken Over')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(tenants.suspend(victim.id)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(tenants.resume({ id: victim.id })).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    const after = await tenants.get(impostor.id);
    expect(after).toMatchObject({ name: victim.id, status: 'active' });
    expect(
      await tenants
        .scope(after as Tenant)
        .collection()
        .countDocuments(),
    ).toBe(1);
  });

  it('the AuthService never reaches the impostor through the victim id', async () => {
    expect(await auth.deleteOrganization(victim.id)).toBe(false);
    await expect(auth.createAdmin(victim.id, { email: 'x@x.test', password: PASSWORD })).rejects.toMatchObject({
      code: 'TENANT_NOT_FOUND',
    });
    await expect(auth.listAdmins(victim.id)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(auth.authorize(victimCtx, victim.id)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(auth.verify(victimToken)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    expect(await tenants.get(impostor.id)).toMatchObject({ status: 'active' });
  });

  it('updateMetadata by id touches nothing: TENANT_NOT_FOUND, the impostor keeps its metadata and revision', async () => {
    const before = (await tenants.get(impostor.id)) as Tenant;
    const revision = before.metadataRevision;
    for (const ref of [victim.id, { id: victim.id }]) {
      await expect(
        tenants.updateMetadata(ref, { plan: 'hijacked' }, { expectedRevision: revision }),
      ).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    }
    const after = await tenants.get(impostor.id);
    expect(after).toEqual(before);
    expect(after?.metadata).not.toHaveProperty('plan');
    // The control: the same update by the impostor's own id is applied.
    const own = await tenants.updateMetadata(impostor.id, { ...before.metadata }, { expectedRevision: revision });
    expect(own.metadataRevision).toBe(revision + 1);
  });

  it('the AuthService never suspends or resumes the impostor through the victim id', async () => {
    const { token } = await auth.login({ email: 'i@impostor.test', password: PASSWORD });
    await expect(auth.suspendOrganization(victim.id)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    expect(await tenants.get(impostor.id)).toMatchObject({ name: victim.id, status: 'active' });
    await expect(auth.verify(token)).resolves.toMatchObject({ tenantId: impostor.id });
    // Suspended by its own id, the impostor is not resumed through the victim's.
    await auth.suspendOrganization(impostor.id);
    try {
      await expect(auth.resumeOrganization(victim.id)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
      expect(await tenants.get(impostor.id)).toMatchObject({ name: victim.id, status: 'suspended' });
      await expect(auth.verify(token)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
    } finally {
      await auth.resumeOrganization(impostor.id);
    }
    expect(await tenants.get(impostor.id)).toMatchObject({ name: victim.id, status: 'active' });
    await expect(auth.verify(token)).resolves.toMatchObject({ tenantId: impostor.id });
    await expect(auth.verify(victimToken)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
  });

  it('a name is never read as an id, and a string is never read as a name', async () => {
    await expect(tenants.get('Victim Inc')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(tenants.drop(impostor.name.toUpperCase())).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(tenants.get({} as never)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(tenants.get({ id: 'Victim Inc' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(tenants.get({ name: '' })).rejects.toMatchObject({ code: 'INVALID_NAME' });
    expect(await tenants.get(impostor.id)).toMatchObject({ status: 'active' });
  });
});
