/**
 * Tells "no such endpoint" (404 `no_route`) from "endpoint exists, not with this method" (405
 * `method_not_allowed`, with an `Allow` header), which fastify's router does not distinguish.
 */
export class RouteMethods {
  private readonly routes: { readonly pattern: RegExp; readonly methods: Set<string> }[] = [];

  /** Record a registered route (from fastify's onRoute hook). */
  add(url: string, methods: string | readonly string[]): void {
    const pattern = new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+/g, '[^/]+')}/?$`);
    let route = this.routes.find((r) => r.pattern.source === pattern.source);
    if (!route) {
      route = { pattern, methods: new Set() };
      this.routes.push(route);
    }
    for (const method of typeof methods === 'string' ? [methods] : methods) route.methods.add(method);
  }

  /** The methods the path accepts; empty when no route matches it. */
  allowed(path: string): string[] {
    const route = this.routes.find((r) => r.pattern.test(path));
    return route ? [...route.methods].filter((m) => m !== 'HEAD').sort() : [];
  }
}
