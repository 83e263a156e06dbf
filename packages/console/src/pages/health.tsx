/** The server's health (/healthz): whether it can commit, and how each part runs (background tasks, AMQP, watchers). */
import { CONSOLE_LIMITS } from '@spacekv/core';
import { useEffect } from 'preact/hooks';
import type { Session } from '../session.js';
import { ErrorLine, useLoad } from '../ui.js';

interface Health { readonly status: string; readonly detail?: string; readonly parts?: Readonly<Record<string, unknown>> }

export function HealthPage({ session }: { readonly session: Session }) {
  // /healthz answers 503 with the same body when the server cannot serve: read the body either way.
  const health = useLoad(async () => JSON.parse((await session.get('/healthz')).text) as Health, [session]);
  useEffect(() => {
    const timer = setInterval(health.reload, CONSOLE_LIMITS.healthRefreshIntervalMs);
    return () => clearInterval(timer);
  }, [health.reload]);
  const value = health.value;
  return (
    <>
      <h1>Health</h1>
      <ErrorLine error={health.error} />
      {value && (
        <>
          <p class={value.status === 'ok' ? 'ok' : 'error'} role="status">Status: <strong data-health={value.status}>{value.status}</strong>{value.detail && ` — ${value.detail}`}</p>
          {value.parts ? (
            <div class="cards">
              {Object.entries(value.parts).map(([name, part]) => (
                <section class="card" aria-label={name}><h2>{name}</h2><pre>{JSON.stringify(part, null, 2)}</pre></section>
              ))}
            </div>
          ) : <p class="hint">The server reports no parts.</p>}
        </>
      )}
    </>
  );
}

