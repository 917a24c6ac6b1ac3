// vitest settings for conformance.test.mjs: the suite's own long polls wait
// up to 20 s, so a test may take longer than vitest's 5 s default.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["conformance.test.mjs"],
    testTimeout: 60000,
    hookTimeout: 60000,
  },
});
