import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Served by the qivr server at /clinic/ (SPA fallback to index.html).
// `npm run dev` proxies the API and the realtime socket to a local server.
const backend = process.env.QIVR_BACKEND ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/clinic/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    port: 5173,
    strictPort: false,
    proxy: {
      '/api': { target: backend, changeOrigin: false },
      '/ws': { target: backend, ws: true, changeOrigin: false },
    },
  },
});
