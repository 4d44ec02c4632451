import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The dashboard is served by apps/server from dist/ at `/`; `pnpm dev` proxies the API to a running server.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 700 },
  server: { proxy: { "/trpc": process.env.SPENDLENS_URL ?? "http://127.0.0.1:4000" } },
});
