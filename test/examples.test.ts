import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { tour } from '../examples/tour/tour.js';
import { useTestClient } from './support/context.js';

const { client, dbName } = useTestClient();

it('the tour example runs and says what it did', async () => {
  const lines: string[] = [];
  await tour(client, dbName(`tour${randomBytes(2).toString('hex')}`), (line) => lines.push(line));
  expect(lines).toEqual([
    expect.stringMatching(/^created Acme Corp: collection \w+\.org_acme_corp$/),
    'inserted 2 orders into org_acme_corp__orders',
    'renamed to Acme Industries: org_acme_industries__orders holds 2 orders',
    'organizations: Acme Industries, Globex',
    'dropped all; 0 left',
  ]);
});
