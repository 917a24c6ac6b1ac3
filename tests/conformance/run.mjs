#!/usr/bin/env node
// Runs the Durable Streams conformance suite (conformance.test.mjs, pinned in
// package-lock.json) against one or more servers and prints their pass,
// fail and skip counts side by side, so that rtdemo is measured against the
// npm reference server in the same run.
//
//   node run.mjs                      the reference server only
//   node run.mjs URL [URL...]         the reference server, then each URL
//   node run.mjs --no-reference URL   only the given URLs
//   --json FILE                       also write the counts and the failed
//                                     test names to FILE
//   --min-passed-vs-reference         exit 1 unless every URL passes at
//                                     least as many tests as the reference
//   --min-passed N                    exit 1 unless every URL passes at
//                                     least N tests (a floor against
//                                     regressions while rtdemo is short of
//                                     the reference)
//
// The reference is @durable-streams/server's DurableStreamTestServer with
// in-memory storage, started in this process on a port the OS picks. Each
// suite run is a child `vitest run` with DS_BASE_URL set; its JSON report
// gives the counts. Exit status: 0 when every run completed (failures are
// counts, not errors), 1 on a broken run or an unmet --min-passed-vs-reference.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = { reference: true, urls: [], json: null, minVsReference: false, minPassed: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--no-reference") opts.reference = false;
    else if (a === "--json") opts.json = argv[++i];
    else if (a === "--min-passed-vs-reference") opts.minVsReference = true;
    else if (a === "--min-passed") opts.minPassed = Number(argv[++i]);
    else if (a.startsWith("http://") || a.startsWith("https://")) opts.urls.push(a);
    else {
      console.error(`run.mjs: unknown argument ${a}`);
      process.exit(2);
    }
  }
  return opts;
}

// One `vitest run` of the suite against baseUrl; resolves to its counts.
function runSuite(label, baseUrl) {
  const dir = mkdtempSync(join(tmpdir(), "ds-conformance-"));
  const report = join(dir, "report.json");
  const vitest = join(here, "node_modules", "vitest", "vitest.mjs");
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [vitest, "run", "--reporter=dot", "--reporter=json", `--outputFile.json=${report}`],
      { cwd: here, env: { ...process.env, DS_BASE_URL: baseUrl }, stdio: ["ignore", "inherit", "inherit"] },
    );
    const started = Date.now();
    child.on("exit", (code, signal) => {
      const seconds = (Date.now() - started) / 1000;
      let counts = { label, baseUrl, seconds, broken: true, passed: 0, failed: 0, skipped: 0, total: 0, failures: [] };
      try {
        const r = JSON.parse(readFileSync(report, "utf8"));
        const failures = [];
        for (const file of r.testResults ?? []) {
          for (const t of file.assertionResults ?? []) {
            if (t.status === "failed") failures.push(t.fullName);
          }
        }
        counts = {
          ...counts,
          broken: false,
          passed: r.numPassedTests,
          failed: r.numFailedTests,
          skipped: (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0),
          total: r.numTotalTests,
          failures,
        };
      } catch (e) {
        console.error(`run.mjs: ${label}: no report from vitest (exit ${code ?? signal}): ${e.message}`);
      }
      rmSync(dir, { recursive: true, force: true });
      resolve(counts);
    });
  });
}

async function withReferenceServer(fn) {
  const { DurableStreamTestServer } = await import("@durable-streams/server");
  const server = new DurableStreamTestServer({ port: 0, host: "127.0.0.1" });
  const url = await server.start();
  try {
    return await fn(url);
  } finally {
    await server.stop();
  }
}

function table(results) {
  const rows = [["server", "passed", "failed", "skipped", "total", "seconds"]];
  for (const r of results) {
    rows.push(
      r.broken
        ? [r.label, "-", "-", "-", "-", r.seconds.toFixed(0)]
        : [r.label, r.passed, r.failed, r.skipped, r.total, r.seconds.toFixed(0)].map(String),
    );
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => String(row[c]).length)));
  return rows.map((row) => row.map((cell, c) => String(cell).padEnd(widths[c])).join("  ")).join("\n");
}

const opts = parseArgs(process.argv.slice(2));
const results = [];
if (opts.reference) {
  results.push(await withReferenceServer((url) => runSuite("reference (@durable-streams/server)", url)));
}
for (const url of opts.urls) results.push(await runSuite(`rtdemo ${url}`, url));

for (const r of results) {
  if (r.failures.length) console.log(`\n${r.label}: failed\n  ${r.failures.join("\n  ")}`);
}
console.log(`\nDurable Streams conformance (@durable-streams/server-conformance-tests 0.3.6)\n${table(results)}`);
if (opts.json) writeFileSync(opts.json, JSON.stringify(results, null, 2));

let status = results.some((r) => r.broken) ? 1 : 0;
if (opts.minVsReference && opts.reference) {
  const ref = results[0];
  for (const r of results.slice(1)) {
    if (r.passed < ref.passed) {
      console.error(`run.mjs: ${r.label} passed ${r.passed}, fewer than the reference's ${ref.passed}`);
      status = 1;
    }
  }
}
if (opts.minPassed > 0) {
  for (const r of results.slice(opts.reference ? 1 : 0)) {
    if (r.passed < opts.minPassed) {
      console.error(`run.mjs: ${r.label} passed ${r.passed}, fewer than the floor of ${opts.minPassed}`);
      status = 1;
    }
  }
}
process.exit(status);
