export { type ServeOptions, serve } from "./main.ts";
export { bearerOf, type RunningServer, type ServerOptions, startServer } from "./server.ts";
