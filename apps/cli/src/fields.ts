import type { InputField } from "@spendlens/api";

/**
 * What an input field means, by its name, for `--help` and completion: the option's value placeholder
 * and a line of text. Input field names are LiteLLM's query names and mean the same thing in every
 * procedure that takes them, so a new procedure gets its help from here without a CLI file. A field's
 * own zod `.describe()` wins over this list; a field in neither is described from its name.
 * The schema adds the rest (choices, range, default, list form): see `describeField`.
 */
interface FieldHelp {
  /** The value's name in `--flag <value>`. */
  value?: string;
  text: string;
  /** The text when the field takes a list (analytics filters are lists of what the field names). */
  list?: string;
}

type Help = FieldHelp | ((f: InputField) => FieldHelp);

const isDay = (f: InputField) => f.schema.format === "date";

const FIELDS: Record<string, Help> = {
  start_date: (f) =>
    isDay(f)
      ? { value: "day", text: "first day, YYYY-MM-DD (UTC)" }
      : { value: "datetime", text: "from: 'YYYY-MM-DD HH:MM:SS' UTC, included" },
  end_date: (f) =>
    isDay(f)
      ? { value: "day", text: "last day, YYYY-MM-DD (UTC), included whole" }
      : { value: "datetime", text: "until: 'YYYY-MM-DD HH:MM:SS' UTC, included" },
  startTime: {
    value: "time",
    text: "from: YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS' UTC (default: midnight 30 days ago)",
  },
  endTime: { value: "time", text: "until: a day (included whole) or a datetime (excluded) (default: now)" },
  start: { value: "when", text: "a day YYYY-MM-DD in the zone, or an ISO instant with offset" },
  end: { value: "when", text: "a day (included whole) or an ISO instant (excluded)" },
  api_key: {
    value: "key",
    text: "one key: raw sk-… (hashed) or its hash",
    list: "only these keys: raw sk-… (hashed) or hashes",
  },
  user_id: { value: "id", text: "one user" },
  user: { value: "id", text: "one user", list: "only these user ids" },
  team_id: { value: "id", text: "one team" },
  team: { value: "id", text: "one team", list: "only these team ids" },
  organization: { value: "id", text: "one organization", list: "only these organization ids" },
  request_id: { value: "id", text: "one request" },
  session_id: { value: "id", text: "the session id" },
  end_user: { value: "id", text: "one end user", list: "only these end users" },
  customer_id: { value: "id", text: "one customer (end user)" },
  internal_user_id: { value: "id", text: "one internal user's keys" },
  model: { value: "model", text: "one model", list: "only these models" },
  model_group: { value: "name", text: "the model group", list: "only these model groups" },
  model_id: { value: "id", text: "one deployment id" },
  provider: {
    value: "name",
    text: "one provider",
    list: "only these providers (the log's custom_llm_provider)",
  },
  custom_llm_provider: { value: "name", text: "one provider" },
  tag: { value: "tag", text: "one request tag", list: "only these request tags" },
  api_base: { value: "url", text: "one api base", list: "only these api bases" },
  key_alias: { value: "alias", text: "the key alias in the log's metadata" },
  error_code: { value: "code", text: "the error code in the log's metadata" },
  status_filter: { value: "status", text: "success (every status but failure) or failure" },
  sort_by: { value: "column", text: "the column to sort by" },
  sort_order: { value: "order", text: "sort direction" },
  min_spend: { value: "usd", text: "spend at least this" },
  max_spend: { value: "usd", text: "spend at most this" },
  page: { value: "n", text: "page, from 1" },
  page_size: { value: "n", text: "rows per page" },
  limit: { value: "n", text: "at most this many rows" },
  cursor: { value: "cursor", text: "next_cursor of the previous page" },
  include_total: { value: "bool", text: "true: also count every matching log" },
  include_current_utc_day: {
    value: "bool",
    text: "true: with --timezone west of UTC, include today's UTC day",
  },
  summarize: { value: "bool", text: "false: the logs of those days instead of the summary" },
  group_by: { value: "by", text: "what a row is per" },
  tag_filters: { value: "tags", text: "tags (exact)" },
  tag_filter: { value: "text", text: "tags containing this text (case-insensitive)" },
  tags: { value: "tags", text: "tags; all-tags or none: every tag" },
  months: { value: "n", text: "how many 30-day periods" },
  attribution: {
    value: "how",
    text: "split: a request's spend divided over its tags; full: each tag gets the whole (the original's figures)",
  },
  timezone: (f) =>
    f.schema.type === "integer"
      ? {
          value: "minutes",
          text: "the caller's offset from UTC in minutes (as a browser's getTimezoneOffset)",
        }
      : { value: "zone", text: "IANA zone for the buckets and for day bounds" },
  dims: { value: "list", text: "dimensions, and at most one of hour, day, week, month" },
  bucket: { value: "unit", text: "time bucket, week from Monday (or name it in --dims)" },
  order_by: { value: "measure", text: "the measure to order by" },
  order: { value: "dir", text: "with --order-by" },
  entity_type: { value: "type", text: "one kind of budget" },
  entity_id: { value: "id", text: "one entity (a key as sk-… or its hash)" },
  status: { value: "status", text: "which events" },
  messages: { value: "json", text: "chat messages as JSON, or @file" },
  completion_response: {
    value: "json",
    text: "an OpenAI-shaped response with model and usage, as JSON or @file",
  },
};

/**
 * A field in neither list, from its name: `team_ids` → "team ids, comma separated";
 * `exclude_<field>` → the field's text, "to leave out".
 */
function fromName(name: string, f: InputField): FieldHelp {
  if (name.startsWith("exclude_")) {
    const base = helpOf(name.slice("exclude_".length), f);
    return { ...base, text: `${base.text}, to leave out` };
  }
  if (name.endsWith("_ids"))
    return { value: "ids", text: `${name.slice(0, -4).replace(/_/g, " ")} ids, comma separated` };
  return {
    text: name
      .replace(/([a-z])([A-Z])/g, "$1 $2")
      .replace(/_/g, " ")
      .toLowerCase(),
  };
}

function helpOf(name: string, f: InputField): FieldHelp {
  const known = Object.hasOwn(FIELDS, name) ? FIELDS[name] : undefined;
  return typeof known === "function" ? known(f) : (known ?? fromName(name, f));
}

type Schema = Record<string, unknown>;

/** The schema's non-null variants (an optional or nullable field is a choice with null). */
const variants = (s: Schema): Schema[] =>
  ((s.anyOf ?? s.oneOf) as Schema[] | undefined)?.filter((v) => v.type !== "null") ?? [s];

/** A field whose value is a JSON object or a list of objects: given as JSON text or @file. */
export function takesJson(f: InputField): boolean {
  return variants(f.schema).some((v) => {
    if (v.type === "object") return true;
    if (v.type !== "array") return false;
    const items = (v.items ?? {}) as Schema;
    return items.type === "object" || Object.keys(items).length === 0;
  });
}

function schemaHints(f: InputField): string[] {
  const hints: string[] = [];
  const vs = variants(f.schema);
  const scalar = vs.find((v) => v.type !== "array") ?? vs[0] ?? {};
  const items = (vs.find((v) => v.type === "array")?.items ?? {}) as Schema;
  const choices = (scalar.enum ?? items.enum) as unknown[] | undefined;
  if (choices) hints.push(choices.join(", "));
  const { minimum: min, maximum: max } = scalar as { minimum?: number; maximum?: number };
  if (min !== undefined && max !== undefined) hints.push(`${min}..${max}`);
  if (f.schema.default !== undefined && !(Array.isArray(f.schema.default) && !f.schema.default.length))
    hints.push(`default: ${String(f.schema.default)}`);
  if (f.isList && !takesJson(f)) hints.push("comma separated or repeated");
  return hints;
}

/** The option's value placeholder and description for a field of a procedure's input. */
export function describeField(f: InputField): { value: string; description: string } {
  const help = helpOf(f.name, f);
  const schemaType = variants(f.schema)[0]?.type;
  const value =
    (f.isList && help.list ? "list" : help.value) ??
    (takesJson(f)
      ? "json"
      : f.isList
        ? "list"
        : schemaType === "integer" || schemaType === "number"
          ? "n"
          : schemaType === "boolean"
            ? "bool"
            : "value");
  const text = f.description ?? (f.isList && help.list ? help.list : help.text);
  const hints = schemaHints(f);
  return { value, description: hints.length ? `${text} (${hints.join("; ")})` : text };
}
