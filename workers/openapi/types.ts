/**
 * The slice of OpenAPI 3.1 the document builder writes, plus the shape of one entry of the
 * operation table (`OperationSpec`). Schemas stay loose objects: they are JSON Schema 2020-12,
 * and the standard validator in test/e2e/openapi.test.ts is the judge of their shape.
 */

/** A JSON Schema (the 2020-12 dialect OpenAPI 3.1 uses), or a `$ref` to a component. */
export type Schema = { [keyword: string]: unknown };

export interface Ref {
  $ref: string;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  description?: string;
  required?: boolean;
  schema: Schema;
  example?: unknown;
}

export interface MediaType {
  schema: Schema;
  example?: unknown;
}

export interface RequestBody {
  description?: string;
  required?: boolean;
  content: Record<string, MediaType>;
}

export interface Header {
  description?: string;
  schema: Schema;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, Header | Ref>;
  content?: Record<string, MediaType>;
}

/**
 * Who may call an operation, mapped to security requirements: `public` needs nothing; `caller` is
 * anyone the rules admit (anonymous, JWT or service key); `signedIn` a JWT or the service key;
 * `session` this server's own access token; `service` the service key only.
 */
export type Access = "public" | "caller" | "signedIn" | "session" | "service";

/** One row of the operation table: what a route does, written once per `METHOD /path/:param`. */
export interface OperationSpec {
  operationId: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  access: Access;
  parameters?: readonly (Parameter | Ref)[];
  requestBody?: RequestBody;
  responses: Record<string, ResponseObject | Ref>;
  /** Statuses answered with problem details; each refers to the shared problem response. */
  errors?: readonly number[];
}

/** An operation as it appears in the document. */
export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security: Record<string, string[]>[];
  parameters?: (Parameter | Ref)[];
  requestBody?: RequestBody;
  responses: Record<string, ResponseObject | Ref>;
}
