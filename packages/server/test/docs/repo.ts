/** Paths of the repository the documentation tests read: its root, found from this compiled helper. */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** packages/server/dist/test/docs → the repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}
