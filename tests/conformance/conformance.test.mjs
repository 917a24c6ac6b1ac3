// The Durable Streams conformance suite, against the server at DS_BASE_URL (run.mjs sets it).
import { runConformanceTests } from "@durable-streams/server-conformance-tests"; runConformanceTests({ baseUrl: process.env.DS_BASE_URL });
