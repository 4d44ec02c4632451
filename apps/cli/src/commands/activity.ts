import type { ReportCommand } from "./types.ts";

export const activityCommands: ReportCommand[] = [];
