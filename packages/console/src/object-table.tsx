/** A page of objects as a table; each key opens the object's editor. Shared by the browser and the search results. */
import type { SpaceObject } from '@spacekv/client';
import { hrefOf } from './route.js';
import { keyText, preview } from './values.js';

export function ObjectTable({ space, objects }: { readonly space: string; readonly objects: readonly SpaceObject[] }) {
  return (
    <div class="table-wrap">
      <table class="objects">
        <thead><tr><th scope="col">key</th><th scope="col">version</th><th scope="col">attributes</th></tr></thead>
        <tbody>
          {objects.map((o) => {
            return (
              <tr>
                <td><a href={hrefOf({ page: 'object', space, key: keyText(o.key) })}>{keyText(o.key)}</a></td>
                <td>{o.version}</td>
                <td class="preview">{preview(o.attributes)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
