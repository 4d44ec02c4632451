import type { ReportCommand } from "./types.ts";

export const analyticsCommands: ReportCommand[] = [];
