import { spendlensVitest } from "../../vitest.shared.ts";

export default spendlensVitest("web");
