import type { Caller } from "./caller";
import type { ResolvedConfig, Rule, RuleContext, RuleOp } from "./config";
import type { Block } from "./block";

/** The outcome of a rule: denied, or allowed with an optional row filter in the query grammar. */
export type RuleDecision = { allowed: false } | { allowed: true; filter: string | null };

/** Finds the rule for an op: table rule, then namespace rule; `write` stands in for insert/update/delete. */
export function resolveRule(config: ResolvedConfig, namespace: string, table: string | null, op: RuleOp): Rule | undefined {
  const nsConfig = config.namespaces[namespace];
  if (!nsConfig) return undefined;
  const tableRules = table !== null && Object.hasOwn(nsConfig.tables, table) ? nsConfig.tables[table]?.rules : undefined;
  for (const rules of [tableRules, nsConfig.rules]) {
    if (!rules) continue;
    const rule = rules[op] ?? (op === "read" ? undefined : rules.write);
    if (rule) return rule;
  }
  return undefined;
}

/**
 * Evaluates a rule for a caller. The service key bypasses rules; no rule denies; a rule that
 * throws or returns anything but `true` or a non-empty filter string denies.
 */
export function checkRule(
  config: ResolvedConfig,
  caller: Caller,
  block: Block,
  table: string | null,
  op: RuleOp,
  subject: { row?: Record<string, unknown>; data?: Record<string, unknown> } = {},
): RuleDecision {
  if (caller.kind === "service") return { allowed: true, filter: null };
  const rule = resolveRule(config, block.namespace, table, op);
  if (!rule) return { allowed: false };
  const ctx: RuleContext = {
    auth: caller.kind === "user" ? { sub: caller.sub, claims: caller.claims } : null,
    block: { name: block.name, namespace: block.namespace, id: block.id },
    table,
    op,
    ...subject,
  };
  let result: unknown;
  try {
    result = rule(ctx);
  } catch {
    return { allowed: false };
  }
  if (result === true) return { allowed: true, filter: null };
  if (typeof result === "string" && result.length > 0) return { allowed: true, filter: result };
  return { allowed: false };
}
