import type { ReportCommand } from "./types.ts";

export const logsCommands: ReportCommand[] = [];
