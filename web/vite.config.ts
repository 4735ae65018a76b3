/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The dev server proxies the reserved server paths to a running
// `connectplus server` (CP_API, default http://127.0.0.1:8080), so the
// session cookie and CSRF token work exactly as in production (same origin).
const api = process.env.CP_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: '../webui/dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // The server's CSP forbids inline scripts and styles: never inline assets
    // as data: URLs into scripts either.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: false },
      '/openapi.json': { target: api },
      '/healthz': { target: api },
    },
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
