/** The description of one space, which the object, editor and search pages all start from. */
import type { SpaceDescription } from '@spacekv/client';
import type { Session } from './session.js';
import { type Loaded, useLoad } from './ui.js';

export function useSpace(session: Session, space: string): Loaded<SpaceDescription> {
  return useLoad(() => session.db.describeSpace(space), [session, space]);
}
