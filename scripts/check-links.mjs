#!/usr/bin/env node
// check-links: fails when a document points at something that is not there.
//
// For README.md, docs/*.md, bench/README.md and tests/README.md (or the
// Markdown files given on the command line), it checks:
//   - every relative link and image, [text](path) and [text](path#anchor):
//     the file or folder must exist, relative to the document;
//   - every anchor, #anchor alone or after a .md path: the target document
//     must have a heading with that GitHub slug;
//   - every repository path cited in backticks, such as
//     `service/hub/hub_loop.h` or `tests/unit/`: it must exist from the
//     repository root (paths under build/, var/ and /, and anything with a
//     wildcard or a placeholder, are not checked). A document that describes
//     code still to be written declares those paths in a comment of its own,
//       <!-- check-links: planned service/streams/ -->
//     and cited paths under them are not checked; the check says so once
//     such a path exists, so that the comment is removed.
// Links to other sites (http:, https:, mailto:) are not followed. Fenced
// code blocks are skipped; inline code is checked only as a cited path.
//
//   node scripts/check-links.mjs                 the documents above
//   node scripts/check-links.mjs --root DIR a.md  these, relative to DIR
// Exit 0 when everything resolves; 1, with one line per dead reference
// (file:line: what), when something does not; 2 on bad usage.
// ctest runs it (label docs), and tests/docs/check_links_test.sh shows it
// fails on each kind of dead reference.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
let root = path.resolve(here, '..');
const args = process.argv.slice(2);
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--root' && i + 1 < args.length) root = path.resolve(args[++i]);
  else if (args[i].startsWith('-')) {
    console.error(`check-links: unknown option ${args[i]}`);
    process.exit(2);
  } else files.push(args[i]);
}
if (files.length === 0) {
  files.push('README.md');
  const docs = path.join(root, 'docs');
  if (fs.existsSync(docs))
    for (const f of fs.readdirSync(docs).sort()) if (f.endsWith('.md')) files.push(`docs/${f}`);
  for (const f of ['bench/README.md', 'tests/README.md'])
    if (fs.existsSync(path.join(root, f))) files.push(f);
}

// The top-level folders whose paths a document may cite in backticks.
const citable = ['service', 'storage', 'tests', 'bench', 'scripts', 'fuzz', 'systemd',
                 'deploy', 'tools', 'web', 'etc', 'docs', '.ci'];

// GitHub's heading anchors: lower case, punctuation dropped (but - and _),
// spaces to hyphens, and -1, -2, ... for repeated headings.
function slugsOf(text) {
  const slugs = new Set();
  const seen = new Map();
  for (const { line } of proseLines(text)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

// The lines outside fenced code blocks, with their numbers.
function proseLines(text) {
  const out = [];
  let fence = null;
  text.split('\n').forEach((line, i) => {
    const f = /^\s*(```|~~~)/.exec(line);
    if (f) {
      if (fence === null) fence = f[1];
      else if (fence === f[1]) fence = null;
      return;
    }
    if (fence === null) out.push({ line, number: i + 1 });
  });
  return out;
}

const slugCache = new Map();
function slugsOfFile(abs) {
  if (!slugCache.has(abs)) slugCache.set(abs, slugsOf(fs.readFileSync(abs, 'utf8')));
  return slugCache.get(abs);
}

const problems = [];
const notes = [];
for (const rel of files) {
  const abs = path.resolve(root, rel);
  if (!fs.existsSync(abs)) {
    problems.push(`${rel}: no such document`);
    continue;
  }
  const dir = path.dirname(abs);
  const text = fs.readFileSync(abs, 'utf8');
  const planned = [];
  for (const m of text.matchAll(/<!--\s*check-links:\s*planned\s+([^>]*?)\s*-->/g))
    for (const p of m[1].split(/\s+/)) {
      planned.push(p);
      if (fs.existsSync(path.join(root, p)))
        notes.push(`${rel}: ${p} is declared planned but exists now: drop it from the check-links comment`);
    }
  for (const { line, number } of proseLines(text)) {
    const where = `${rel}:${number}`;
    // Links and images, with inline code taken out first ([`x`](y) keeps y).
    const prose = line.replace(/`[^`]*`/g, (c) => (/^`[^`]*`$/.test(c) ? 'x' : c));
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;  // http:, https:, mailto:
      const hash = target.indexOf('#');
      const file = hash < 0 ? target : target.slice(0, hash);
      const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
      const resolved = file === '' ? abs : path.resolve(dir, decodeURIComponent(file));
      if (!fs.existsSync(resolved)) {
        problems.push(`${where}: link to ${target}: no such file`);
        continue;
      }
      if (anchor !== null) {
        if (!resolved.endsWith('.md') || fs.statSync(resolved).isDirectory()) {
          problems.push(`${where}: link to ${target}: an anchor into something that is not a Markdown file`);
        } else if (!slugsOfFile(resolved).has(anchor)) {
          problems.push(`${where}: link to ${target}: no heading "#${anchor}" in ${path.relative(root, resolved)}`);
        }
      }
    }
    // Repository paths cited in backticks.
    for (const m of line.matchAll(/`([^`\s]+)`/g)) {
      const cited = m[1].replace(/[.,:;]$/, '');
      const top = cited.split('/')[0];
      if (!cited.includes('/') || !citable.includes(top)) continue;
      if (/[*<>{}$|]|\.\.\./.test(cited)) continue;  // a pattern or a placeholder
      const p = cited.replace(/[#:].*$/, '');        // file#anchor, file:line
      if (planned.some((q) => p === q.replace(/\/$/, '') || p.startsWith(q.endsWith('/') ? q : `${q}/`)))
        continue;
      if (!fs.existsSync(path.join(root, p))) problems.push(`${where}: cites \`${cited}\`: no such path`);
    }
  }
}

for (const n of notes) console.error(`note: ${n}`);
for (const p of problems) console.error(p);
if (problems.length > 0) {
  console.error(`check-links: ${problems.length} dead reference(s) in ${files.length} document(s)`);
  process.exit(1);
}
console.log(`check-links: ${files.length} document(s), every link and cited path resolves`);
