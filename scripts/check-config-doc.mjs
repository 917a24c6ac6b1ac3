#!/usr/bin/env node
// check-config-doc: fails when docs/configuration.md and etc/rtdemo.properties
// disagree about a configuration key.
//
// etc/rtdemo.properties lists every key rtdemo reads with its default (a
// `key = value` line); docs/configuration.md lists them as table rows
// (| `key` | default | meaning |). This check holds them together:
//   - every key of the properties file has a row, and every row a key there;
//   - a row's default is the file's value: its first `code` span equals the
//     value, or, for an empty value, the cell starts with "empty".
// A key added to one and not the other, or a default changed in one only,
// fails here.
//
//   node scripts/check-config-doc.mjs [--root DIR]
// Exit 0 when they agree; 1, with one line per disagreement; 2 on bad usage.
// ctest runs it (label docs); tests/docs/check_config_doc_test.sh shows it
// fails on each kind of disagreement.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
if (args.length === 2 && args[0] === '--root') root = path.resolve(args[1]);
else if (args.length !== 0) {
  console.error('usage: check-config-doc.mjs [--root DIR]');
  process.exit(2);
}
const propsFile = 'etc/rtdemo.properties';
const docFile = 'docs/configuration.md';

const props = new Map();
fs.readFileSync(path.join(root, propsFile), 'utf8').split('\n').forEach((line, i) => {
  const m = /^\s*(rtdemo\.[A-Za-z0-9.-]+)\s*[=:]\s*(.*?)\s*$/.exec(line);
  if (m) props.set(m[1], { value: m[2], line: i + 1 });
});

const rows = new Map();
fs.readFileSync(path.join(root, docFile), 'utf8').split('\n').forEach((line, i) => {
  const m = /^\|\s*`(rtdemo\.[A-Za-z0-9.-]+)`\s*\|([^|]*)\|/.exec(line);
  if (m) rows.set(m[1], { cell: m[2].trim(), line: i + 1 });
});

const problems = [];
for (const [key, { value, line }] of props) {
  const row = rows.get(key);
  if (!row) {
    problems.push(`${propsFile}:${line}: ${key} has no row in ${docFile}`);
    continue;
  }
  const code = /`([^`]*)`/.exec(row.cell);
  const agrees = value === '' ? /^empty\b/.test(row.cell) : code !== null && code[1] === value;
  if (!agrees)
    problems.push(`${docFile}:${row.line}: ${key} defaults to "${value}" in ${propsFile}, ` +
                  `but the row says ${row.cell || '(nothing)'}`);
}
for (const [key, { line }] of rows)
  if (!props.has(key)) problems.push(`${docFile}:${line}: ${key} is not in ${propsFile}`);

for (const p of problems) console.error(p);
if (problems.length > 0) {
  console.error(`check-config-doc: ${problems.length} disagreement(s)`);
  process.exit(1);
}
console.log(`check-config-doc: ${props.size} keys, the same defaults in ${propsFile} and ${docFile}`);
