import type { ReportCommand } from "./types.ts";

export const budgetsCommands: ReportCommand[] = [];
