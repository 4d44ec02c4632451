import { litellmDayLabel } from "../validation.ts";
import type {
  ActivityExceptions,
  DeploymentExceptions,
  GlobalActivity,
  ModelGroupActivity,
} from "./activity.ts";

/**
 * The REST routes' response shapes: the original's field names, its 'Jan 22' label in `date`, and the
 * sortable ISO day beside it in `date_iso` (series stay sorted by real date).
 */

/** A day's entry with the label in `date` and the ISO day in `date_iso`. */
export type Labelled<T extends { date: string }> = Omit<T, "date"> & { date: string; date_iso: string };

export function withLitellmLabel<T extends { date: string }>(d: T): Labelled<T> {
  const { date, ...rest } = d;
  return { date: litellmDayLabel(date), date_iso: date, ...rest };
}

/** An answer with LiteLLM's labels in its `daily_data`. */
function withLabelledDays<O extends { daily_data: { date: string }[] }>(
  o: O,
): Omit<O, "daily_data"> & { daily_data: Labelled<O["daily_data"][number]>[] } {
  return { ...o, daily_data: o.daily_data.map(withLitellmLabel) };
}

export const litellmGlobalActivity = (o: GlobalActivity) => withLabelledDays(o);

/** The original's rows carry their model_group inside each daily_data entry too. */
export const litellmActivityByModelGroup = (o: ModelGroupActivity[]) =>
  o.map((g) => ({
    ...g,
    daily_data: g.daily_data.map((d) => ({ model_group: g.model, ...withLitellmLabel(d) })),
  }));

export const litellmActivityExceptions = (o: ActivityExceptions) => withLabelledDays(o);

/** The original's rows carry their api_base inside each daily_data entry too. */
export const litellmExceptionsByDeployment = (o: DeploymentExceptions[]) =>
  o.map((g) => ({
    ...g,
    daily_data: g.daily_data.map((d) => ({ api_base: g.api_base, ...withLitellmLabel(d) })),
  }));
