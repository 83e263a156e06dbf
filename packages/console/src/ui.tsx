/** Small pieces every page uses: loading a value, and saying what went wrong in words and code. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';

/** The catalogue code (docs/errors.md) and message of an error, for the user. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

export function ErrorLine({ error }: { readonly error: unknown }) {
  if (error === undefined || error === null) return null;
  return <p class="error" role="alert">{describeError(error)}</p>;
}

export function Empty({ children }: { readonly children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

export interface Loaded<T> {
  /** The latest value loaded; while a newer load runs, still the previous one. */
  readonly value: T | undefined;
  readonly error: unknown;
  /** Whether what is shown is older than the current deps (true from the very render they change in). */
  readonly loading: boolean;
  reload(): void;
}

function sameDeps(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
}

/** Runs `load` when `deps` change (and on `reload()`); a late answer to an older call is dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [generation, setGeneration] = useState(0);
  const current = [...deps, generation];
  const [state, setState] = useState<{ value?: T; error?: unknown; of?: readonly unknown[] }>({});
  useEffect(() => {
    let latest = true;
    load().then(
      (value) => latest && setState({ value, of: current }),
      (error: unknown) => latest && setState((s) => ({ ...s, error, of: current })),
    );
    return () => { latest = false; };
  }, current);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { value: state.value, error: state.error, loading: state.of === undefined || !sameDeps(state.of, current), reload };
}
