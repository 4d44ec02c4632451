import type { ReportCommand } from "./types.ts";

export const pricingCommands: ReportCommand[] = [];
