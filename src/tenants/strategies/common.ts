/** What the layouts share: the rule for collection names application code chooses, and dropping idempotently. */
import type { Db } from 'mongodb';
import { TenancyError } from '../../errors.js';
import { executeExpecting, type Runner, ServerCode } from '../../internal/execute.js';

const SUB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * A collection name application code chose, checked.
 *
 * @throws {@link TenancyError} `INVALID_INPUT` for a name that is not 1 to 64 of `[A-Za-z0-9_-]` starting with a letter or digit.
 */
export function checkCollectionName(name: unknown): string {
  if (typeof name !== 'string' || !SUB_NAME.test(name)) {
    throw new TenancyError(
      'INVALID_INPUT',
      'A collection name must be 1 to 64 letters, digits, _ or -, starting with a letter or digit',
      { details: { field: 'name' } },
    );
  }
  return name;
}

/** Whether `name` is a collection name application code may choose. */
export function isCollectionName(name: string): boolean {
  return SUB_NAME.test(name);
}

/** Creates a collection; one that is there already is fine. */
export async function createCollection(via: Runner, db: Db, name: string): Promise<void> {
  await executeExpecting(
    'create tenant collection',
    ServerCode.NamespaceExists,
    undefined,
    (o) => db.createCollection(name, o),
    via,
  );
}

/** Drops a collection; one that is not there is fine. */
export async function dropCollection(via: Runner, db: Db, name: string): Promise<void> {
  await executeExpecting(
    'drop tenant collection',
    ServerCode.NamespaceNotFound,
    false,
    (o) => db.dropCollection(name, o),
    via,
  );
}

/** Separator between a base collection's name and a named collection's (`org_acme__orders`, `shared__orders`). */
export const NAME_SEPARATOR = '__';

/** `base` and the named collections beside it (`<base>__<name>`) that exist now in `db`. */
export async function namesUnder(via: Runner, db: Db, base: string): Promise<string[]> {
  const names = await collectionNames(via, db, `^${base}(${NAME_SEPARATOR}|$)`);
  // The regex is the server's filter; the check is exact whatever characters `base` holds.
  return names.filter((n) => n === base || n.startsWith(base + NAME_SEPARATOR));
}

/** The names of the collections of `db` (system collections left out), optionally those matching `regex`. */
export async function collectionNames(via: Runner, db: Db, regex?: string): Promise<string[]> {
  const filter = regex === undefined ? {} : { name: { $regex: regex } };
  const all = await via.run('list tenant collections', (o) =>
    db.listCollections(filter, { ...o, nameOnly: true }).toArray(),
  );
  return all.map((c) => c.name).filter((name) => !name.startsWith('system.'));
}
