/**
 * Host selection (pure): `--rack`, `--attribute key=value` and explicit hosts (list or hosts file)
 * resolved against the agents the Mesos master reports, the same way for the API and the CLI.
 *
 *   selected = (explicit hosts ∪ agents in any of the racks) ∩ agents matching every attribute
 *
 * - no explicit host and no rack: the attribute filters select among all agents;
 * - an explicit host that does not match the attribute filters is left out and reported in
 *   `excluded` (never drained behind the operator's back, never silently drained either);
 * - every rack and every attribute filter must match at least one agent, and the whole selection at
 *   least one host, otherwise the request is refused (400) naming the selector;
 * - explicit hosts come first in the operator's order, then selector matches by hostname.
 * Unknown explicit names pass through unchanged: resolveHosts (host-state.ts) reports them.
 */
import type { HostProblem } from './errors.js';
import { hostKey, shortText } from './host-state.js';
import { suggest } from './format.js';

export interface HostSelector {
  /** Agents whose rack attribute is any of these. */
  racks?: string[];
  /** Agents carrying every one of these attributes with exactly this value. */
  attributes?: Record<string, string>;
}

export interface SelectableAgent {
  hostname: string;
  rack?: string;
  attributes?: Record<string, string>;
}

export interface Selection {
  hosts: string[];
  /** Explicit hosts left out by the attribute filters, with why. */
  excluded: Array<{ hostname: string; reason: string }>;
}

export function hasSelector(s: HostSelector | undefined): s is HostSelector {
  return !!s && ((s.racks?.length ?? 0) > 0 || Object.keys(s.attributes ?? {}).length > 0);
}

function attrsOf(a: SelectableAgent): Record<string, string> {
  return a.attributes ?? {};
}

export function selectHosts(explicit: readonly string[], sel: HostSelector, agents: readonly SelectableAgent[], problems: HostProblem[]): Selection {
  const bad = (path: string, message: string) => problems.push({ hostname: '', code: 'invalid-option', path, message });
  const sorted = [...agents].sort((a, b) => (hostKey(a.hostname) < hostKey(b.hostname) ? -1 : 1));
  const racks = sel.racks ?? [];
  const attrs = Object.entries(sel.attributes ?? {});
  const knownRacks = [...new Set(sorted.map((a) => a.rack).filter((r): r is string => r !== undefined))].sort();
  racks.forEach((r, i) => {
    if (sorted.some((a) => a.rack === r)) return;
    const near = suggest(r, knownRacks, 3);
    bad(`racks[${i}]`, `no agent in rack '${shortText(r, 60)}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}; ${knownRacks.length ? `racks: ${knownRacks.slice(0, 20).join(', ')}${knownRacks.length > 20 ? ', …' : ''}` : 'no agent reports a rack'}`);
  });
  for (const [k, v] of attrs) {
    if (sorted.some((a) => attrsOf(a)[k] === v)) continue;
    const values = [...new Set(sorted.map((a) => attrsOf(a)[k]).filter((x): x is string => x !== undefined))].sort();
    bad(`attributes.${shortText(k, 60)}`, `no agent has ${shortText(k, 60)}=${shortText(v, 60)}` + (values.length ? ` (values of ${shortText(k, 60)}: ${values.slice(0, 20).map((x) => shortText(x, 40)).join(', ')})` : ` (no agent has an attribute ${shortText(k, 60)})`));
  }
  const matches = (a: SelectableAgent) => attrs.every(([k, v]) => attrsOf(a)[k] === v);
  const byKey = new Map(sorted.map((a) => [hostKey(a.hostname), a]));
  const out: string[] = [];
  const seen = new Set<string>();
  const excluded: Selection['excluded'] = [];
  for (const h of explicit) {
    const k = hostKey(h.trim());
    const a = byKey.get(k);
    if (a && !matches(a)) {
      const miss = attrs.filter(([key, v]) => attrsOf(a)[key] !== v).map(([key, v]) => `${key}=${v}`);
      excluded.push({ hostname: h, reason: `does not match ${miss.join(', ')}` });
      continue;
    }
    out.push(h); // duplicates and unknown names are resolveHosts' to report
    seen.add(k);
  }
  const fromSelectors = explicit.length === 0 && racks.length === 0 ? sorted : sorted.filter((a) => a.rack !== undefined && racks.includes(a.rack));
  for (const a of fromSelectors) {
    const k = hostKey(a.hostname);
    if (seen.has(k) || !matches(a)) continue;
    seen.add(k);
    out.push(a.hostname);
  }
  if (out.length === 0 && !problems.length) {
    const what = [...racks.map((r) => `--rack ${r}`), ...attrs.map(([k, v]) => `--attribute ${k}=${v}`)].join(' ');
    problems.push({ hostname: '', code: 'empty-request', message: `the selection matches no host (${shortText(what, 200)}${explicit.length ? `, and ${excluded.length} explicit host(s) left out by the attribute filters` : ''})` });
  }
  return { hosts: out, excluded };
}
