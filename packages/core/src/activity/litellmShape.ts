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

export function withLitellmLabel<T extends { date: string }>(
  d: T,
): Omit<T, "date"> & { date: string; date_iso: string } {
  const { date, ...rest } = d;
  return { date: litellmDayLabel(date), date_iso: date, ...rest };
}

export const litellmGlobalActivity = (o: GlobalActivity) => ({
  ...o,
  daily_data: o.daily_data.map(withLitellmLabel),
});

/** The original's rows carry their model_group inside each daily_data entry too. */
export const litellmActivityByModelGroup = (o: ModelGroupActivity[]) =>
  o.map((g) => ({
    ...g,
    daily_data: g.daily_data.map((d) => ({ model_group: g.model, ...withLitellmLabel(d) })),
  }));

export const litellmActivityExceptions = (o: ActivityExceptions) => ({
  ...o,
  daily_data: o.daily_data.map(withLitellmLabel),
});

/** The original's rows carry their api_base inside each daily_data entry too. */
export const litellmExceptionsByDeployment = (o: DeploymentExceptions[]) =>
  o.map((g) => ({
    ...g,
    daily_data: g.daily_data.map((d) => ({ api_base: g.api_base, ...withLitellmLabel(d) })),
  }));
