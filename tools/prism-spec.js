#!/usr/bin/env node
// Writes the copy of Gong's API description (doc/gong-v2-openapi.json) that
// the conformance suite serves with Stoplight Prism. The vendored file stays
// as Gong published it; this script is the one place that changes it, and
// only for what Prism cannot take as it is:
//   - its `date-time` examples are numbers (seconds since the epoch): Prism
//     would answer them as numbers, which no tenant sends; they become the
//     ISO-8601 strings they stand for;
//   - it declares Basic auth only, while Gong's OAuth apps send a bearer
//     token: a BearerAuth scheme is added beside every Basic requirement.
//   node tools/prism-spec.js IN OUT
'use strict';
const fs = require('fs');
const [input, output] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: node tools/prism-spec.js IN OUT\n');
  process.exit(2);
}
const spec = JSON.parse(fs.readFileSync(input, 'utf8'));

let dates = 0;
(function walk(node) {
  if (Array.isArray(node)) return node.forEach(walk);
  if (node === null || typeof node !== 'object') return;
  if (node.format === 'date-time' && typeof node.example === 'number') {
    node.example = new Date(node.example * 1000).toISOString().replace('.000Z', 'Z');
    dates++;
  }
  Object.values(node).forEach(walk);
})(spec);

spec.components.securitySchemes.BearerAuth = { type: 'http', scheme: 'bearer' };
const withBearer = (reqs) =>
  reqs.some((r) => 'BasicAuth' in r) && !reqs.some((r) => 'BearerAuth' in r) ? [...reqs, { BearerAuth: [] }] : reqs;
let bearer = 0;
if (spec.security) spec.security = withBearer(spec.security), bearer++;
for (const item of Object.values(spec.paths))
  for (const op of Object.values(item))
    if (op && Array.isArray(op.security)) op.security = withBearer(op.security), bearer++;

fs.writeFileSync(output, JSON.stringify(spec));
process.stderr.write(`prism-spec: ${dates} date-time examples made strings, bearer beside basic in ${bearer} places\n`);
