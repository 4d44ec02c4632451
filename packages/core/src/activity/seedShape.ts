import { seedDayLabel } from "../validation.ts";
import type {
  ActivityExceptions,
  DeploymentExceptions,
  GlobalActivity,
  ModelGroupActivity,
} from "./activity.ts";

/**
 * The REST routes' response shapes: the seed's field names, its 'Jan 22' label in `date`, and the
 * sortable ISO day beside it in `date_iso` (series stay sorted by real date).
 */

export function withSeedLabel<T extends { date: string }>(
  d: T,
): Omit<T, "date"> & { date: string; date_iso: string } {
  const { date, ...rest } = d;
  return { date: seedDayLabel(date), date_iso: date, ...rest };
}

export const seedGlobalActivity = (o: GlobalActivity) => ({
  ...o,
  daily_data: o.daily_data.map(withSeedLabel),
});

/** The seed's rows carry their model_group inside each daily_data entry too. */
export const seedActivityByModelGroup = (o: ModelGroupActivity[]) =>
  o.map((g) => ({
    ...g,
    daily_data: g.daily_data.map((d) => ({ model_group: g.model, ...withSeedLabel(d) })),
  }));

export const seedActivityExceptions = (o: ActivityExceptions) => ({
  ...o,
  daily_data: o.daily_data.map(withSeedLabel),
});

/** The seed's rows carry their api_base inside each daily_data entry too. */
export const seedExceptionsByDeployment = (o: DeploymentExceptions[]) =>
  o.map((g) => ({
    ...g,
    daily_data: g.daily_data.map((d) => ({ api_base: g.api_base, ...withSeedLabel(d) })),
  }));
