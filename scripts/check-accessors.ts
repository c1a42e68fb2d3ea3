/**
 * Part of `pnpm lint`: fails on a getter or setter written in an object literal in library or gateway source.
 *
 * Why: such an accessor is a closure stored in the object's map, so V8 gives every object made by that literal a
 * map of its own, and maps live in the old generation. Until the next full collection that map keeps the closure
 * alive, and with it everything the closure reaches: for an object built per request, the whole request. Measured
 * on the gateway's streamed answers: about 19 KB of every request promoted to the old generation, a full
 * collection every 400 ms, and a fifth of the throughput (docs/operations.md, "Getters in per-request objects").
 *
 * A long-lived object (one per limiter, per breaker, per server) may keep its accessors: put `accessor-ok` and the
 * reason in a comment on the line before the object literal (or before the accessor).
 *
 * Usage: node scripts/check-accessors.ts [dir ...]   (default: packages apps)
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const SKIPPED_DIRS = new Set(['node_modules', 'dist', '__fixtures__']);

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) files.push(...sourceFiles(full));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && full.includes(`${path.sep}src${path.sep}`)) {
      files.push(full);
    }
  }
  return files;
}

/** `file:line: message` for each accessor in an object literal, unless the literal or the accessor is marked `accessor-ok`. */
export function findLiteralAccessors(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const lines = text.split('\n');
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) && ts.isObjectLiteralExpression(node.parent)) {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const literalLine = source.getLineAndCharacterOfPosition(node.parent.getStart(source)).line;
      const marked = [line - 1, literalLine - 1].some((index) => (lines[index] ?? '').includes('accessor-ok'));
      if (!marked) {
        found.push(`${fileName}:${line + 1}: ${ts.isGetAccessorDeclaration(node) ? 'getter' : 'setter'} in an object literal`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

if (import.meta.main) {
  const roots = process.argv.length > 2 ? process.argv.slice(2) : ['packages', 'apps'];
  const found = roots.flatMap((root) => sourceFiles(root).flatMap((file) => findLiteralAccessors(file, readFileSync(file, 'utf8'))));
  if (found.length > 0) {
    console.error(found.join('\n'));
    console.error(
      `\n${found.length} accessor(s) in object literals. Use a plain field or a method; see scripts/check-accessors.ts for why,\n` +
        'or mark a long-lived object with an `accessor-ok: <reason>` comment on the line before its literal.',
    );
    process.exitCode = 1;
  }
}
