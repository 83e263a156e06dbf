/**
 * Compares a space declared in TypeScript with the space the server has, so a typed client never
 * silently reads or writes through a schema that is not the one it was compiled against.
 */
import type { SpaceDescription } from './client.js';
import { type SpaceDefinition, schemaJsonOf } from './model.js';

/** Every difference, one line each; empty when the two agree. */
export function schemaDrift(definition: SpaceDefinition, server: SpaceDescription): string[] {
  const declared = schemaJsonOf(definition);
  const drift: string[] = [];
  if (declared.key.name !== server.key.name || declared.key.type !== server.key.type) {
    drift.push(`key: declared ${declared.key.type} ${declared.key.name}, server has ${server.key.type} ${server.key.name}`);
  }
  const serverTypes = new Map(server.attributes.map((a) => [a.name, a.type]));
  for (const { name, type } of declared.attributes) {
    const actual = serverTypes.get(name);
    if (actual === undefined) drift.push(`attribute ${name}: declared ${type}, missing on the server`);
    else if (actual !== type) drift.push(`attribute ${name}: declared ${type}, server has ${actual}`);
    serverTypes.delete(name);
  }
  for (const [name, type] of serverTypes) drift.push(`attribute ${name}: the server has ${type}, not declared`);
  if ((declared.ttl_seconds ?? null) !== (server.ttl_seconds ?? null)) {
    drift.push(`ttl: declared ${declared.ttl_seconds ?? 'none'}, server has ${server.ttl_seconds ?? 'none'}`);
  }
  return drift;
}
