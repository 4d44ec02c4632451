import { z } from "zod";

/** Shared zod pieces of the logs and spend endpoints (the original's snake_case names). */

/** A free-text filter (key, id, team): a bounded string. */
export const zFilter = z.string().max(512, "must be at most 512 characters");

/** A spend bound from a query string; an empty value is an error, not 0. */
export const zSpend = z.preprocess(
  (v) => (typeof v === "string" && v.trim() === "" ? Number.NaN : v),
  z.coerce.number({ error: "must be a number" }).refine(Number.isFinite, "must be a finite number"),
);

/** The filters every logs endpoint takes first: a key (a raw sk- key is hashed), a user, a request id. */
export const LOG_ID_FILTERS = {
  api_key: zFilter.optional(),
  user_id: zFilter.optional(),
  request_id: zFilter.optional(),
};
