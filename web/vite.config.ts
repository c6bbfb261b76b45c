/// <reference types="vitest/config" />
import path from "node:path";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build lands inside the Python package so `gptapi serve` ships the console.
const outDir = path.resolve(import.meta.dirname, "../src/gptapi/console_web/dist");
const backend = process.env.GPTAPI_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { "@": path.resolve(import.meta.dirname, "src") } },
  build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 1200 },
  server: {
    proxy: { "/api": backend, "/v1": backend },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    css: false,
  },
});
