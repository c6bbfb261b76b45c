/// <reference types="vitest/config" />
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

// The build lands inside the Python package so `gptapi serve` ships the console.
const outDir = path.resolve(import.meta.dirname, "../src/gptapi/console_web/dist");
const backend = process.env.GPTAPI_URL ?? "http://127.0.0.1:8000";
const COMPRESSIBLE = /\.(js|css|svg|json|html|txt)$/;

/** Brotli and gzip copies beside every compressible asset, made once at build time so the
server sends them as they are (no compression work per request). */
function precompress(): Plugin {
  return {
    name: "gptapi-precompress",
    apply: "build",
    closeBundle() {
      const assets = path.join(outDir, "assets");
      for (const name of readdirSync(assets)) {
        const file = path.join(assets, name);
        if (!COMPRESSIBLE.test(name) || statSync(file).size < 1024) continue;
        const body = readFileSync(file);
        writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
        writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  plugins: [react(), tailwindcss(), precompress()],
  resolve: { alias: { "@": path.resolve(import.meta.dirname, "src") } },
  build: { outDir, emptyOutDir: true },
  server: {
    proxy: { "/api": backend, "/v1": backend },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
    css: false,
  },
});
