import type { ReportCommand } from "./types.ts";

export const ingestCommands: ReportCommand[] = [];
