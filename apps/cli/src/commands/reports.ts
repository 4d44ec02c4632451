import type { ReportCommand } from "./types.ts";

export const reportsCommands: ReportCommand[] = [];
