import type { ReportCommand } from "./types.ts";

export const adminCommands: ReportCommand[] = [];
