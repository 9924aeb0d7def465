/** The OpenAPI 3.1 document, generated from the route table and its zod schemas: never written by hand. */
import { z } from 'zod';
import { type Route, routes } from './routes.js';
import { ProblemBody } from './schemas.js';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input' });

function operation(route: Route) {
  const input = route.input === 'none' ? undefined : json(route.schema);
  const query = route.input === 'query' || route.input === 'body-or-query';
  const properties = (input?.properties ?? {}) as Record<string, object>;
  const required = new Set((input?.required as string[] | undefined) ?? []);
  return {
    summary: route.summary,
    ...(route.secured ? { security: [{ bearer: [] }] } : route.optionalAuth ? { security: [{}, { bearer: [] }] } : {}),
    ...(query
      ? {
          parameters: Object.entries(properties).map(([name, schema]) => ({
            name,
            in: 'query',
            required: route.input === 'query' && required.has(name),
            schema,
          })),
        }
      : {}),
    ...(route.input === 'body' || route.input === 'body-or-query'
      ? { requestBody: { required: route.input === 'body', content: { 'application/json': { schema: input } } } }
      : {}),
    responses: {
      [route.status]: { description: 'Success', content: { 'application/json': { schema: json(route.response) } } },
      ...Object.fromEntries(
        route.problems.map((status) => [
          status,
          {
            description: 'Problem (RFC 9457)',
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
        ]),
      ),
    },
  };
}

export function openApiDocument(serverUrl?: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Organization Management Service (mongo-tenancy reference server)',
      version: '1.0.0',
      description: 'The original FastAPI service’s API, on the mongo-tenancy TenantManager and AuthService.',
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Problem: json(ProblemBody) },
    },
  };
}
