/** The path of a request target, without its query: how every front matches a URL to what it serves. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
