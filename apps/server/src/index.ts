export { bearerOf, type RunningServer, type ServerOptions, startServer } from "./server.ts";
export { type ServeOptions, serve } from "./main.ts";
