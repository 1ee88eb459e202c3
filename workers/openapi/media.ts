/**
 * Small constructors for the pieces every operation repeats: component references, JSON bodies and
 * responses, object schemas. They keep the operation tables readable as data.
 */
import type { Header, MediaType, Ref, RequestBody, ResponseObject, Schema } from "./types";

type ComponentKind = "schemas" | "responses" | "parameters" | "headers";

/** A `$ref` to `#/components/<kind>/<name>`. */
export function ref(kind: ComponentKind, name: string): Ref {
  return { $ref: `#/components/${kind}/${name}` };
}

/** A schema reference, the most common kind. */
export function schemaRef(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

/** An object schema with the given properties; `required` lists the ones always present. */
export function object(properties: Record<string, Schema>, required: readonly string[] = [], extra: Schema = {}): Schema {
  return { type: "object", properties, ...(required.length > 0 ? { required: [...required] } : {}), ...extra };
}

/** `application/json` content with a schema (and an example when one helps a reader). */
export function jsonContent(schema: Schema, example?: unknown): Record<string, MediaType> {
  return { "application/json": example === undefined ? { schema } : { schema, example } };
}

/** A required JSON request body. */
export function jsonBody(schema: Schema, description?: string, example?: unknown): RequestBody {
  return { required: true, content: jsonContent(schema, example), ...(description === undefined ? {} : { description }) };
}

/** A JSON response, optionally with headers. */
export function jsonResponse(description: string, schema: Schema, headers?: Record<string, Header | Ref>): ResponseObject {
  return { description, content: jsonContent(schema), ...(headers ? { headers } : {}) };
}

/** A response with no body (204, 302, 101). */
export function emptyResponse(description: string, headers?: Record<string, Header | Ref>): ResponseObject {
  return headers ? { description, headers } : { description };
}
