/**
 * The search builder: predicates per attribute, each operator and operand typed by the schema,
 * combined by AND; the results a page at a time, and the plan the server chose (an index or a scan).
 */
import { CONSOLE_LIMITS, type Json } from '@spacekv/core';
import type { SearchPage as Page, SearchPlan, SpaceDescription } from '@spacekv/client';
import { useState } from 'preact/hooks';
import type { Session } from '../session.js';
import { hrefOf } from '../route.js';
import { useSpace } from '../space-hook.js';
import { ObjectTable } from '../object-table.js';
import { Empty, ErrorLine } from '../ui.js';
import { operandType, operatorsFor, parseOperand } from '../values.js';

interface Predicate { readonly attribute: string; readonly op: string; readonly operand: string }

export function SearchPage({ session, space }: { readonly session: Session; readonly space: string }) {
  const description = useSpace(session, space);
  return (
    <>
      <h1><a href="#/spaces">Spaces</a> / <a href={hrefOf({ page: 'objects', space })}>{space}</a> / search</h1>
      <ErrorLine error={description.error} />
      {description.value && <Builder session={session} description={description.value} />}
    </>
  );
}

/** The `where` of the predicates: `{age: {gte: 18, lt: 65}, last: {eq: "Smith"}}`. */
function whereOf(description: SpaceDescription, predicates: readonly Predicate[]): Record<string, Record<string, Json>> {
  const where: Record<string, Record<string, Json>> = {};
  for (const p of predicates) {
    const type = description.attributes.find((a) => a.name === p.attribute)?.type ?? description.key.type;
    (where[p.attribute] ??= {})[p.op] = parseOperand(operandType(type, p.op), p.operand);
  }
  return where;
}

function Builder({ session, description }: { readonly session: Session; readonly description: SpaceDescription }) {
  const attributes = [description.key, ...description.attributes];
  const fresh = (): Predicate => ({ attribute: attributes[0]?.name ?? '', op: 'eq', operand: '' });
  const [predicates, setPredicates] = useState<readonly Predicate[]>([]);
  const [result, setResult] = useState<{ page: Page; where: Record<string, unknown>; trail: readonly (string | undefined)[]; cursor?: string } | undefined>();
  const [error, setError] = useState<unknown>();
  const typeOf = (name: string) => attributes.find((a) => a.name === name)?.type ?? 'string';
  const change = (i: number, p: Partial<Predicate>) => setPredicates(predicates.map((q, j) => {
    if (j !== i) return q;
    const next = { ...q, ...p };
    return operatorsFor(typeOf(next.attribute)).includes(next.op) ? next : { ...next, op: operatorsFor(typeOf(next.attribute))[0] as string };
  }));

  const load = async (where: Record<string, unknown>, trail: readonly (string | undefined)[], cursor: string | undefined) => {
    try {
      const page = await session.db.searchPage(description.name, where, { limit: CONSOLE_LIMITS.searchPageObjectsMax, explain: true, ...(cursor ? { cursor } : {}) });
      setResult({ page, where, trail, ...(cursor ? { cursor } : {}) });
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  };
  const run = (e: Event) => {
    e.preventDefault();
    try {
      void load(whereOf(description, predicates), [], undefined);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <form class="card" onSubmit={run} aria-label="search">
        <h2>Where</h2>
        {predicates.length === 0 && <p class="hint">No predicates: every object matches. Add one to narrow the search.</p>}
        {predicates.map((p, i) => (
          <div class="predicate" role="group" aria-label={`predicate ${i + 1}`}>
            <select aria-label="attribute" value={p.attribute} onChange={(e) => change(i, { attribute: e.currentTarget.value })}>
              {attributes.map((a) => <option value={a.name}>{a.name} ({a.type})</option>)}
            </select>
            <select aria-label="operator" value={p.op} onChange={(e) => change(i, { op: e.currentTarget.value })}>
              {operatorsFor(typeOf(p.attribute)).map((op) => <option value={op}>{op}</option>)}
            </select>
            <input aria-label="value" placeholder={operandType(typeOf(p.attribute), p.op)} value={p.operand} onInput={(e) => change(i, { operand: e.currentTarget.value })} />
            <button type="button" aria-label={`remove predicate ${i + 1}`} onClick={() => setPredicates(predicates.filter((_, j) => j !== i))}>✕</button>
          </div>
        ))}
        <p class="actions">
          <button type="button" onClick={() => setPredicates([...predicates, fresh()])}>Add predicate</button>
          <button type="submit">Search</button>
        </p>
        <ErrorLine error={error} />
      </form>
      {result && (
        <section aria-label="results">
          <PlanLine plan={result.page.plan} />
          <pre class="where">{JSON.stringify(result.where)}</pre>
          {result.page.objects.length === 0 ? <Empty>No objects on this page match.</Empty> : <ObjectTable space={description.name} objects={result.page.objects} />}
          <nav class="pager" aria-label="result pages">
            <button disabled={result.trail.length === 0} onClick={() => void load(result.where, result.trail.slice(0, -1), result.trail[result.trail.length - 1])}>Previous page</button>
            <span class="page-number">Page {result.trail.length + 1}</span>
            <button disabled={!result.page.cursor} onClick={() => void load(result.where, [...result.trail, result.cursor], result.page.cursor)}>Next page</button>
          </nav>
        </section>
      )}
    </>
  );
}

function PlanLine({ plan }: { readonly plan: SearchPlan | undefined }) {
  if (!plan) return null;
  const text = plan.kind === 'index' ? `index on ${plan.attribute}${plan.counted_from_index ? ' (counted from the index alone)' : ''}` : 'scan of the whole space, in bounded pages';
  return <p class="plan" role="status">Plan: <strong>{plan.kind}</strong> — {text}</p>;
}
