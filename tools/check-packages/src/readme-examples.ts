// Finds the examples of a package README that CI runs. A fenced ```ts block is an example when the line just
// before it (blank lines allowed) is an HTML comment marker, invisible on GitHub and npm:
//   <!-- example: run -->        type-checked, then run with node (it must end by itself and exit 0)
//   <!-- example: typecheck -->  type-checked only (a server that listens forever, a call to a real vendor)
// Other blocks (signatures, fragments) are prose and are not checked.

/** One example of a README. */
export interface ReadmeExample {
  /** 1-based line of the opening fence, to name the example in a failure. */
  line: number;
  mode: 'run' | 'typecheck';
  code: string;
}

const MARKER = /^<!--\s*example:\s*(\S+)\s*-->$/;
const FENCE_OPEN = /^```(\w+)/;

/**
 * The marked examples of a README, in order.
 *
 * @example
 * ```ts
 * const examples = readmeExamples(readFileSync('README.md', 'utf8'));
 * ```
 */
export function readmeExamples(markdown: string): ReadmeExample[] {
  const lines = markdown.split('\n');
  const examples: ReadmeExample[] = [];
  let pending: { mode: 'run' | 'typecheck'; line: number } | undefined;
  for (let index = 0; index < lines.length; index += 1) {
    const text = (lines[index] ?? '').trim();
    const marker = MARKER.exec(text);
    if (marker !== null) {
      const mode = marker[1];
      if (mode !== 'run' && mode !== 'typecheck') {
        throw new Error(`line ${index + 1}: unknown example mode "${mode}" (expected run or typecheck)`);
      }
      pending = { mode, line: index + 1 };
      continue;
    }
    if (text === '') continue;
    const fence = FENCE_OPEN.exec(text);
    if (pending !== undefined) {
      if (fence === null || (fence[1] !== 'ts' && fence[1] !== 'typescript')) {
        throw new Error(`line ${pending.line}: an example marker must be followed by a \`\`\`ts block`);
      }
      const body: string[] = [];
      let end = index + 1;
      while (end < lines.length && (lines[end] ?? '').trim() !== '```') body.push(lines[end++] ?? '');
      if (end === lines.length) throw new Error(`line ${index + 1}: the example's fence is never closed`);
      examples.push({ line: index + 1, mode: pending.mode, code: `${body.join('\n')}\n` });
      pending = undefined;
      index = end;
      continue;
    }
    if (fence !== null) {
      // Skip an unmarked block whole, so a marker-like line inside it is not taken for a marker.
      let end = index + 1;
      while (end < lines.length && (lines[end] ?? '').trim() !== '```') end += 1;
      index = end;
    }
  }
  if (pending !== undefined) throw new Error(`line ${pending.line}: an example marker at the end of the file`);
  return examples;
}

/** The bare module specifiers an example imports (`node:` builtins left out), e.g. `@gw/providers/testing`. */
export function importedPackages(code: string): string[] {
  const names = new Set<string>();
  for (const match of code.matchAll(/\bfrom\s+'([^'.][^']*)'|\bimport\s+'([^'.][^']*)'|\bimport\('([^'.][^']*)'\)/g)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (specifier === undefined || specifier.startsWith('node:')) continue;
    const parts = specifier.split('/');
    names.add(specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? specifier));
  }
  return [...names].sort();
}
