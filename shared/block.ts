import type { ResolvedConfig, RuleBlock } from "./config";
import { HttpError } from "./errors";

/** A parsed block name: the address of one DatabaseDO (and its RealtimeDO). */
export interface Block extends RuleBlock {}

const NAMESPACE_PART = /^[A-Za-z0-9_-]{1,63}$/;
const ID_PART = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Parses `<namespace>:<id>` (dynamic) or `<namespace>` (static) against the config.
 * Malformed names are 400 `INVALID_BLOCK`; a well-formed unknown namespace is 404 `NAMESPACE_NOT_FOUND`.
 */
export function parseBlock(raw: string, config: ResolvedConfig): Block {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch (cause) {
    throw new HttpError(400, "INVALID_BLOCK", `Block name "${raw}" is not valid percent-encoding.`, { cause });
  }
  const colon = name.indexOf(":");
  const namespace = colon === -1 ? name : name.slice(0, colon);
  const id = colon === -1 ? null : name.slice(colon + 1);
  if (!NAMESPACE_PART.test(namespace)) {
    throw new HttpError(400, "INVALID_BLOCK", `Block name "${name}" is malformed; use <namespace>:<id> or a static <namespace>.`);
  }
  const nsConfig = Object.hasOwn(config.namespaces, namespace) ? config.namespaces[namespace] : undefined;
  if (!nsConfig) throw new HttpError(404, "NAMESPACE_NOT_FOUND", `Namespace "${namespace}" is not declared in actorbase.config.ts.`);
  if (nsConfig.kind === "static") {
    if (id !== null)
      throw new HttpError(400, "INVALID_BLOCK", `Namespace "${namespace}" is static; address it as "${namespace}" without an id.`);
    return { name: namespace, namespace, id: null };
  }
  if (id === null || !ID_PART.test(id)) {
    throw new HttpError(400, "INVALID_BLOCK", `Block "${name}" needs an id of 1-128 characters from A-Za-z0-9_.- after "${namespace}:".`);
  }
  return { name: `${namespace}:${id}`, namespace, id };
}

/**
 * The block an actor serves, from the name it was reached by (`ctx.id.name`, or the copy it remembered).
 * An actor reached by an id not made from a name has none: a programming error, thrown as a plain Error.
 */
export function blockOfActor(actor: string, name: string | undefined, id: DurableObjectId, config: ResolvedConfig): Block {
  if (name === undefined) {
    throw new Error(
      `${actor} ${id.toString()} has no name (ctx.id.name is undefined): reach it with getByName(<block name>), not newUniqueId() or idFromString(). ` +
        "An actor first woken by its alarm after a runtime restart is nameless too, unless it remembered its name (workerd#6850).",
    );
  }
  return parseBlock(name, config);
}
