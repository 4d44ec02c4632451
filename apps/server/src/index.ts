export {
  DEFAULT_LIMITS,
  HeavyGate,
  type Limits,
  limitsFromEnv,
  RateLimiter,
  type RateRule,
  UNRATED_LIMITS,
} from "./limits.ts";
export { type ServeOptions, serve } from "./main.ts";
export { bearerOf, type RunningServer, type ServerOptions, startServer } from "./server.ts";
