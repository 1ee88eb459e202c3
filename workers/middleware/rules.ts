import { parseBlock } from "../../shared/block";
import type { RuleOp } from "../../shared/config";
import { HttpError } from "../../shared/errors";
import { checkRule } from "../../shared/rules";
import { config } from "../config";
import type { AppRequest } from "../context";

/** Parses the `:block` route parameter into `request.state.block` (400 malformed, 404 unknown namespace). */
export function withBlock(request: AppRequest): undefined {
  request.state.block = parseBlock(request.params.block ?? "", config);
}

/** The table named by the route, checked against the block's namespace (400 malformed, 404 undeclared). */
export function routeTable(request: AppRequest): string {
  let table: string;
  try {
    table = decodeURIComponent(request.params.table ?? "");
  } catch (cause) {
    throw new HttpError(400, "INVALID_TABLE", "The table name is not valid percent-encoding.", { cause });
  }
  const block = request.state.block;
  const tables = block ? config.namespaces[block.namespace]?.tables : undefined;
  if (!tables || !Object.hasOwn(tables, table)) {
    throw new HttpError(404, "TABLE_NOT_FOUND", `Table "${table}" is not declared in namespace "${block?.namespace}".`);
  }
  return table;
}

/**
 * Block-level rule check, run in the Worker before the actor is called: denies early when the rule
 * for `op` says no without seeing a row. Anonymous callers denied get 401 (sign in), others 403.
 * Row-level checks happen again inside the actor.
 */
export function requireRule(op: RuleOp) {
  return (request: AppRequest): undefined => {
    const { caller, block } = request.state;
    if (!caller || !block) throw new Error("requireRule needs authenticate and withBlock first");
    const table = request.params.table === undefined ? null : routeTable(request);
    if (checkRule(config, caller, block, table, op).allowed) return;
    if (caller.kind === "anonymous") {
      throw new HttpError(
        401,
        "AUTH_REQUIRED",
        `Sign in to ${op} ${table ? `"${table}" in ` : ""}"${block.name}"; anonymous callers are not allowed.`,
      );
    }
    throw new HttpError(
      403,
      "FORBIDDEN",
      `The rules of "${block.namespace}" do not allow you to ${op} ${table ? `"${table}" in ` : ""}"${block.name}".`,
    );
  };
}
