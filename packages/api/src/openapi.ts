import { z } from "zod";
import { procedureReads, type RestRoute, restRoutes } from "./rest.ts";
import { appRouter } from "./root.ts";
import { ingestProcedure } from "./routers/ingest.ts";
import {
  adminReadProcedure,
  adminWriteProcedure,
  authedProcedure,
  type Meta,
  scopedReadProcedure,
} from "./trpc.ts";

/**
 * The OpenAPI 3.1 document of the REST routes, built from what defines them: each procedure's
 * `meta.rest` (path, method, summary, response shape), its zod input (query parameters or request body,
 * with their constraints) and its role middleware. A pure function of the router.
 */

type JsonSchema = Record<string, unknown>;

const ERROR_REF = { $ref: "#/components/schemas/Error" };

/** LiteLLM's error body. */
const errorSchema: JsonSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["message", "type", "param", "code"],
      properties: {
        message: { type: "string" },
        type: {
          type: "string",
          examples: ["bad_request_error", "auth_error", "permission_error", "service_unavailable"],
        },
        param: { type: ["string", "null"], description: "The input field at fault, as the caller sent it" },
        code: { type: "string", description: "The HTTP status, as a string", examples: ["400"] },
      },
    },
  },
};

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: ERROR_REF } },
});

const ERROR_RESPONSES = {
  BadRequest: errorResponse("Bad input: `param` names the field"),
  Unauthorized: errorResponse("No key, an unknown key, or a blocked or expired key"),
  Forbidden: errorResponse("The key's role may not use this route (or asked for another user's data)"),
  PayloadTooLarge: errorResponse("The request body is larger than the server's limit"),
  Unavailable: errorResponse("The database is down"),
  Timeout: errorResponse("A query ran past the statement timeout"),
};

const ref = (name: keyof typeof ERROR_RESPONSES) => ({ $ref: `#/components/responses/${name}` });

/** Who may call a procedure, told by the role middleware it was built from (trpc.ts). */
const ROLES: [{ _def: { middlewares: unknown[] } }, string, boolean][] = [
  [adminWriteProcedure, "proxy_admin only", true],
  [adminReadProcedure, "admins only (proxy_admin, proxy_admin_viewer)", true],
  [ingestProcedure, 'proxy_admin, or a key whose metadata has "spendlens_ingest": true', true],
  [scopedReadProcedure, "any valid key; internal users get only their own rows", true],
  [authedProcedure, "any valid key", false],
];

interface ProcedureDef {
  middlewares: unknown[];
  inputs: z.ZodType[];
  meta?: Meta;
}

const procedureDef = (procedure: string): ProcedureDef | undefined =>
  (appRouter._def.procedures as unknown as Record<string, { _def: ProcedureDef }>)[procedure]?._def;

function roleOf(procedure: string): { who: string; mayForbid: boolean } {
  const mws = procedureDef(procedure)?.middlewares ?? [];
  for (const [builder, who, mayForbid] of ROLES) {
    const own = builder._def.middlewares.at(-1);
    if (mws.includes(own)) return { who, mayForbid };
  }
  return { who: "no key needed", mayForbid: false };
}

/** A zod schema as a JSON Schema (2020-12, which OpenAPI 3.1 uses), without the `$schema` line. */
function jsonSchemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io,
    target: "draft-2020-12",
    // Refinements and transforms have no JSON Schema: the part before them is documented.
    unrepresentable: "any",
  }) as JsonSchema;
  return rest;
}

/** The object inside an optional/nullable input (`{}` or null accepted): its properties are the parameters. */
function objectPart(s: JsonSchema): JsonSchema | null {
  if (s.type === "object") return s;
  const variants = (s.anyOf ?? s.oneOf) as JsonSchema[] | undefined;
  return variants?.find((v) => v.type === "object") ?? null;
}

/** The names of a route path's `{name}` segments. */
const pathParameterNames = (path: string) => new Set([...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!));

/** One field of a procedure's input object, as its JSON Schema says (the OpenAPI parameters and the CLI's options). */
export interface InputField {
  name: string;
  required: boolean;
  /** From zod `.describe()` / `.meta({ description })`. */
  description?: string;
  /** The field's JSON Schema (input side), without its description. */
  schema: JsonSchema;
  /** The field takes a list (an array, or a choice of text or array): a comma list, or a repeated name. */
  isList: boolean;
}

/** The fields of an input's object part (an optional input's object too), in declaration order. */
function fieldsOf(input: JsonSchema | null): InputField[] {
  const props = (input?.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((input?.required ?? []) as string[]);
  return Object.entries(props).map(([name, schema]) => {
    const { description, ...rest } = schema;
    const isList =
      rest.type === "array" || ((rest.anyOf ?? []) as JsonSchema[]).some((v) => v.type === "array");
    return {
      name,
      required: required.has(name),
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
      isList,
    };
  });
}

function queryParameters(input: JsonSchema | null, csv: boolean, inPath: Set<string>): JsonSchema[] {
  const params: JsonSchema[] = fieldsOf(input).map((f) => {
    // A `{name}` segment of the path is that input field (OpenAPI: a path parameter, always required).
    const isPath = inPath.has(f.name);
    return {
      name: f.name,
      in: isPath ? "path" : "query",
      required: isPath || f.required,
      ...(f.description ? { description: f.description } : {}),
      schema: f.schema,
      // Lists are sent comma separated: `?dims=model,day`.
      ...(f.isList ? { style: "form", explode: false } : {}),
    };
  });
  if (csv)
    params.push({
      name: "format",
      in: "query",
      required: false,
      description: "`csv` answers a table-shaped answer as CSV (as `Accept: text/csv` does)",
      schema: { type: "string", enum: ["csv"] },
    });
  return params;
}

const camel = (procedure: string) =>
  procedure.replace(/\.([a-z])/g, (_, c: string) => c.toUpperCase()).replace(/\W/g, "_");

function operation(route: RestRoute): JsonSchema {
  const { who, mayForbid } = roleOf(route.procedure);
  const input = procedureDef(route.procedure)?.inputs[0];
  const inputJson = input ? jsonSchemaOf(input, "input") : null;
  const responses: Record<string, unknown> = {
    "200": {
      description: "OK",
      content: {
        "application/json": {
          schema: route.meta.response
            ? jsonSchemaOf(route.meta.response, "output")
            : { description: "The procedure's answer (no schema documented)" },
        },
        ...(route.method === "GET"
          ? {
              "text/csv": { schema: { type: "string", description: "With ?format=csv or Accept: text/csv" } },
            }
          : {}),
      },
    },
  };
  const op: JsonSchema = {
    operationId: camel(route.procedure),
    summary: procedureDef(route.procedure)?.meta?.summary ?? route.procedure,
    description: `Who: ${who}. Also the tRPC procedure \`${route.procedure}\`.`,
    tags: [route.procedure.split(".")[0]],
    "x-trpc-procedure": route.procedure,
  };
  // A read may be answered by a hot standby (docs/api.md, "Reads from a standby"): `consistency=strong`
  // sends it to the primary.
  const consistency = procedureReads(route.procedure)
    ? [
        {
          name: "consistency",
          in: "query",
          required: false,
          description:
            "`strong` reads from the primary (also the header `x-spendlens-consistency`); `eventual` (default) lets a hot standby answer, with `x-spendlens-read-source`, `x-spendlens-as-of` and `x-spendlens-lag-ms` saying which and how fresh",
          schema: { type: "string", enum: ["strong", "eventual"] },
        },
      ]
    : [];
  if (route.method === "GET") {
    op.parameters = [
      ...queryParameters(inputJson ? objectPart(inputJson) : null, true, pathParameterNames(route.path)),
      ...consistency,
    ];
  } else {
    if (consistency.length) op.parameters = consistency;
    const body = route.meta.body ? jsonSchemaOf(route.meta.body, "input") : inputJson;
    const bodyObject = body ? objectPart(body) : null;
    const required = !!bodyObject && ((bodyObject.required ?? []) as string[]).length > 0;
    if (body) op.requestBody = { required, content: { "application/json": { schema: body } } };
  }
  if (inputJson || route.meta.body) responses["400"] = ref("BadRequest");
  responses["401"] = ref("Unauthorized");
  if (mayForbid) responses["403"] = ref("Forbidden");
  if (route.method === "POST") responses["413"] = ref("PayloadTooLarge");
  responses["503"] = ref("Unavailable");
  responses["504"] = ref("Timeout");
  op.responses = responses;
  return op;
}

export interface OpenApiOptions {
  /** info.version; default "0.1.0". */
  version?: string;
  /** Base URLs for `servers`; default none (the document is served by the server it describes). */
  servers?: string[];
}

/** The OpenAPI 3.1 document of every REST route (and nothing else). */
export function openApiDocument(opts: OpenApiOptions = {}): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of restRoutes()) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "spendlens",
      version: opts.version ?? "0.1.0",
      summary: "Spend tracking for LLM gateways (LiteLLM): LiteLLM's spend routes and spendlens's own",
      description:
        'Every route takes `Authorization: Bearer <key>` (the master key or a LiteLLM virtual key) or `x-litellm-api-key`. Errors are LiteLLM\'s `{"error": {"message", "type", "param", "code"}}`.',
    },
    ...(opts.servers?.length ? { servers: opts.servers.map((url) => ({ url })) } : {}),
    security: [{ bearer: [] }, { litellmApiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "The master key or a LiteLLM virtual key (sk-…)",
        },
        litellmApiKey: { type: "apiKey", in: "header", name: "x-litellm-api-key" },
      },
      schemas: { Error: errorSchema },
      responses: ERROR_RESPONSES,
    },
  };
}

/**
 * The fields of a procedure's input (its zod input as JSON Schema, the walk the OpenAPI parameters
 * use): the CLI derives each named command's options from them. Empty when it takes no input.
 */
export function inputFields(procedure: string): InputField[] {
  const input = procedureDef(procedure)?.inputs[0];
  return input ? fieldsOf(objectPart(jsonSchemaOf(input, "input"))) : [];
}

/** The input fields a procedure cannot do without (the CLI marks their options required). */
export function requiredInputFields(procedure: string): string[] {
  return inputFields(procedure)
    .filter((f) => f.required)
    .map((f) => f.name);
}
