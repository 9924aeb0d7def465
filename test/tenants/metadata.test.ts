/** Organization metadata end to end: set at registration, updated with optimistic concurrency. */
import { describe, expect, it } from 'vitest';
import { authFactory, PASSWORD } from '../support/auth.js';
import { useTestClient } from '../support/context.js';

const { client, dbName } = useTestClient();
const make = authFactory(client, dbName);

describe('organization metadata', () => {
  it('stores the metadata given at registration, and refuses invalid metadata before creating anything', async () => {
    const { auth, tenants } = make();
    const { tenant } = await auth.registerOrganization({
      name: 'Acme Corp',
      email: 'ada@acme.test',
      password: PASSWORD,
      metadata: { plan: 'pro', seats: 5, tags: ['eu'] },
    });
    expect(tenant).toMatchObject({ metadata: { plan: 'pro', seats: 5, tags: ['eu'] }, metadataRevision: 0 });
    expect((await tenants.get({ name: 'Acme Corp' }))?.metadata).toEqual({ plan: 'pro', seats: 5, tags: ['eu'] });

    for (const metadata of [{ $where: 1 }, { big: 'x'.repeat(17 * 1024) }, ['not', 'an', 'object']]) {
      await expect(
        auth.registerOrganization({
          name: 'Globex',
          email: 'g@globex.test',
          password: PASSWORD,
          metadata: metadata as Record<string, unknown>,
        }),
      ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    }
    expect(await tenants.get({ name: 'Globex' })).toBeNull();
    const { tenant: plain } = await auth.registerOrganization({ name: 'Plain', email: 'p@p.test', password: PASSWORD });
    expect(plain.metadata).toEqual({});
  });

  it('updates the metadata, replacing it and counting the revision', async () => {
    const { auth, tenants } = make();
    const { tenant } = await auth.registerOrganization({
      name: 'Acme Corp',
      email: 'ada@acme.test',
      password: PASSWORD,
      metadata: { plan: 'pro', region: 'eu' },
    });
    const first = await tenants.updateMetadata(tenant.id, { plan: 'enterprise' }, { expectedRevision: 0 });
    expect(first).toMatchObject({ id: tenant.id, metadata: { plan: 'enterprise' }, metadataRevision: 1 });
    expect(first.metadata).not.toHaveProperty('region');
    expect(first.updatedAt.getTime()).toBeGreaterThanOrEqual(tenant.updatedAt.getTime());
    const second = await tenants.updateMetadata(
      { name: 'acme corp' },
      { ...first.metadata, seats: 10 },
      {
        expectedRevision: first.metadataRevision,
      },
    );
    expect(second).toMatchObject({ metadata: { plan: 'enterprise', seats: 10 }, metadataRevision: 2 });
    expect(await tenants.get(tenant.id)).toMatchObject({
      metadata: { plan: 'enterprise', seats: 10 },
      metadataRevision: 2,
    });
    // Other writes keep the metadata and its revision: a rename does not make a metadata writer stale.
    const renamed = await tenants.rename(tenant.id, 'Acme Industries');
    expect(renamed).toMatchObject({ metadata: { plan: 'enterprise', seats: 10 }, metadataRevision: 2 });
    expect((await tenants.updateMetadata(tenant.id, {}, { expectedRevision: 2 })).metadata).toEqual({});
  });

  it('gives a stale writer CONFLICT and changes nothing', async () => {
    const { tenants } = make();
    const acme = await tenants.create({ name: 'Acme Corp', metadata: { plan: 'free' } });
    // Ten writers that all read revision 0: exactly one wins, on every server.
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        tenants.updateMetadata(acme.id, { plan: `plan ${i}` }, { expectedRevision: acme.metadataRevision }),
      ),
    );
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'CONFLICT' });
    }
    const after = await tenants.get(acme.id);
    expect(after).toMatchObject({ metadata: won[0]?.metadata, metadataRevision: 1 });
    expect(await tenants.master.collection('organization_metadata_claims').countDocuments()).toBe(0);

    // A writer holding the record read before that update, even within the same millisecond, is refused.
    await expect(tenants.updateMetadata(acme, { plan: 'stale' }, { expectedRevision: 0 })).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { field: 'expectedRevision' },
    });
    await expect(tenants.updateMetadata(acme, { plan: 'future' }, { expectedRevision: 7 })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(await tenants.get(acme.id)).toEqual(after);
  });

  it('refuses invalid metadata and options with INVALID_INPUT and changes nothing', async () => {
    const { tenants } = make();
    const acme = await tenants.create({ name: 'Acme Corp', metadata: { plan: 'free' } });
    const invalid: unknown[] = [
      undefined,
      null,
      'pro',
      [1, 2],
      { 'a.b': 1 },
      { $set: { plan: 'pro' } },
      { when: new Date() },
      { n: Number.NaN },
      { big: 'x'.repeat(16 * 1024) },
    ];
    for (const metadata of invalid) {
      await expect(
        tenants.updateMetadata(acme.id, metadata as Record<string, unknown>, { expectedRevision: 0 }),
      ).rejects.toMatchObject({ code: 'INVALID_INPUT', details: { field: 'metadata' } });
    }
    for (const options of [
      undefined,
      {},
      { expectedRevision: -1 },
      { expectedRevision: 1.5 },
      { expectedRevision: 0, x: 1 },
    ]) {
      await expect(
        tenants.updateMetadata(acme.id, { plan: 'pro' }, options as { expectedRevision: number }),
      ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    }
    await expect(
      tenants.updateMetadata({ name: 'Acme Corp' }, { plan: 'pro' }, { expectedRevision: 0 }),
    ).resolves.toMatchObject({
      metadataRevision: 1,
    });
    await expect(tenants.updateMetadata('Acme Corp', { plan: 'x' }, { expectedRevision: 1 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      details: { field: 'tenant' },
    });
    expect(await tenants.get(acme.id)).toMatchObject({ metadata: { plan: 'pro' }, metadataRevision: 1 });
  });

  it('gives TENANT_NOT_FOUND for a tenant that does not exist, and updates a suspended one', async () => {
    const { tenants } = make();
    await expect(
      tenants.updateMetadata('0123456789abcdef01234567', { plan: 'pro' }, { expectedRevision: 0 }),
    ).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(
      tenants.updateMetadata({ name: 'Nobody' }, { plan: 'pro' }, { expectedRevision: 0 }),
    ).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    const acme = await tenants.create({ name: 'Acme Corp' });
    await tenants.suspend(acme.id);
    expect(await tenants.updateMetadata(acme.id, { plan: 'pro' }, { expectedRevision: 0 })).toMatchObject({
      status: 'suspended',
      metadata: { plan: 'pro' },
    });
    await tenants.drop(acme.id);
    await expect(tenants.updateMetadata(acme.id, { plan: 'x' }, { expectedRevision: 1 })).rejects.toMatchObject({
      code: 'TENANT_NOT_FOUND',
    });
  });

  it('takes over a claim left by a writer that died, once it expires', async () => {
    let now = Date.now();
    const { tenants } = make({ manager: { clock: () => new Date(now) } });
    const acme = await tenants.create({ name: 'Acme Corp' });
    const claims = tenants.master.collection<{ _id: string }>('organization_metadata_claims');
    await claims.insertOne({ _id: `${acme.id}:1`, holder: 'dead', expiresAt: new Date(now + 30_000) } as never);
    // Still at revision 0: the refusal says to retry shortly, not to read the tenant again.
    await expect(tenants.updateMetadata(acme.id, { plan: 'pro' }, { expectedRevision: 0 })).rejects.toMatchObject({
      code: 'CONFLICT',
      details: { field: 'expectedRevision', retryAfter: 30 },
    });
    expect((await tenants.get(acme.id))?.metadataRevision).toBe(0);
    now += 30_001;
    expect(await tenants.updateMetadata(acme.id, { plan: 'pro' }, { expectedRevision: 0 })).toMatchObject({
      metadata: { plan: 'pro' },
      metadataRevision: 1,
    });
    expect(await claims.countDocuments()).toBe(0);
  });

  it('gives TENANT_UNAVAILABLE for a tenant mid-operation', async () => {
    const { tenants } = make();
    const acme = await tenants.create({ name: 'Acme Corp' });
    await tenants.master.collection('organizations').updateOne({ name: 'Acme Corp' }, { $set: { status: 'dropping' } });
    await expect(tenants.updateMetadata(acme.id, { plan: 'pro' }, { expectedRevision: 0 })).rejects.toMatchObject({
      code: 'TENANT_UNAVAILABLE',
    });
    expect((await tenants.get(acme.id))?.metadata).toEqual({});
  });
});
