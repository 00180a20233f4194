import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by the manager under /console/: every asset URL is relative to it.
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true },
});
