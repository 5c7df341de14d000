import type { Scope as RuleScope } from '../generated/iam-policy.js';
import { scopeMatches, type RootScope } from '../iam/root-scope.js';
import type { Scope as EventScope } from '../model/event.js';

/** One entry of `owners` or `routes`: a scope and what it leads to. */
export interface ScopeRule<T> {
  scope: RuleScope;
  to: T;
}

/**
 * The first rule whose scope matches, in file order — a pure function of the event's scope and the
 * file, the same on every receiver. The list ends with `"*"` (checked when the file is read), so
 * every scope finds one; an event that names no tenant, site or region matches `"*"` alone.
 */
export function firstMatch<T>(rules: readonly ScopeRule<T>[]): (scope: EventScope | RootScope | null) => T {
  const last = rules.at(-1);
  if (!last || last.scope !== '*') throw new Error('a scope rule list must end with "*"');
  return (scope) => {
    const root = scope && { tenant: scope.tenant, site: scope.site, regions: regionsOf(scope) };
    for (const rule of rules) if (scopeMatches(rule.scope, root)) return rule.to;
    return last.to;
  };
}

/** Events published before `regions` existed carry only `region` (the schema says to read it as [region]). */
function regionsOf(scope: EventScope | RootScope): readonly string[] {
  if (scope.regions) return scope.regions;
  const region = 'region' in scope ? scope.region : null;
  return region ? [region] : [];
}
