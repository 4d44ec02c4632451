import type { ReportCommand } from "./types.ts";

export const tagsCommands: ReportCommand[] = [];
