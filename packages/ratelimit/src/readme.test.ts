// The README's examples are what people copy first: each `ts` block that imports '@gw/ratelimit' is compiled, as a
// module of this package, with the workspace's compiler options. A block that stops type-checking fails here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(path.join(here, '../README.md'), 'utf8');
const examples = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)]
  .map((match) => match[1] ?? '')
  .filter((code) => code.includes(`from '@gw/ratelimit'`));

/** The compiler's complaints about each example, compiled together in one program (one load of the libraries). */
function diagnosticsOf(codes: readonly string[]): string[][] {
  const configPath = path.join(here, '../../../tsconfig.base.json');
  const config = ts.parseJsonConfigFileContent(
    ts.readConfigFile(configPath, (file) => ts.sys.readFile(file)).config,
    ts.sys,
    path.dirname(configPath),
  );
  // Files of this package, so that '@gw/ratelimit' resolves to it by name, as for a user.
  const files = codes.map((_, index) => path.join(here, `__readme_example_${index + 1}__.ts`));
  // The stand-in an example serves its upstream with comes from @gw/providers, which this package does not depend on
  // (the README says to install it); here it is read from the workspace's source.
  const options = {
    ...config.options,
    noEmit: true,
    paths: { '@gw/providers/testing': [path.join(here, '../../providers/src/testing/index.ts')] },
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) => {
    const index = files.indexOf(name);
    return index === -1
      ? getSourceFile(name, languageVersion, ...rest)
      : ts.createSourceFile(name, codes[index] ?? '', languageVersion, true);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => files.includes(name) || fileExists(name);
  const program = ts.createProgram(files, options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  return files.map((file) =>
    diagnostics
      .filter((diagnostic) => diagnostic.file === undefined || diagnostic.file.fileName === file)
      .map((diagnostic) => {
        const position = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        const where = position === undefined ? '' : `line ${position.line + 1}: `;
        return where + ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      }),
  );
}

describe('README examples', () => {
  it('type-check, all three usage examples', () => {
    expect(examples).toHaveLength(3);
    expect(diagnosticsOf(examples)).toEqual([[], [], []]);
  });
});
