// The README's TypeScript examples, read at test time (never a copied list): every ```ts block,
// type-checked as a module against src/ (`ts-celery` → src/index.ts), with the names it uses
// from an earlier block (Quick start's `app`, `add`, …) imported from that block, and the
// placeholders the prose leaves to the reader declared in a hidden `<!-- readme-check: … -->`
// comment right before the block.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { REPO_ROOT } from './python.js';

export const README = resolve(REPO_ROOT, 'README.md');

export interface ReadmeBlock {
  /** README line of the first code line (after the fence). */
  line: number;
  code: string;
  /** Declarations from a `<!-- readme-check: … -->` comment just before the fence. */
  declarations: string;
}

export function readmeBlocks(text = readFileSync(README, 'utf8')): ReadmeBlock[] {
  const lines = text.split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const comment = before >= 0 ? /^<!--\s*readme-check:([\s\S]*?)-->\s*$/.exec(lines[before]!) : null;
    // A block importing the reader's own module (`from './tasks.ts'`) gets those names from the
    // earlier block that defines them, like any other name it lacks: the import line is blanked.
    const code = lines.slice(start, end).map((line) => (/^import .* from '\.\/[^']+';\s*$/.test(line) ? '' : line));
    blocks.push({ line: start + 1, code: code.join('\n'), declarations: comment?.[1]?.trim() ?? '' });
    i = end;
  }
  return blocks;
}

// Virtual files beside the tests, so `zod` and friends resolve from the repository's node_modules.
const VIRTUAL_DIR = resolve(REPO_ROOT, 'test', '.readme-blocks');
const fileOf = (b: ReadmeBlock) => join(VIRTUAL_DIR, `readme-line-${b.line}.ts`);
const MISSING_NAME = new Set([2304, 2552, 2503, 2580, 2581, 2582]);

function compilerOptions(): ts.CompilerOptions {
  const configPath = resolve(REPO_ROOT, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, REPO_ROOT);
  return { ...parsed.options, noEmit: true, baseUrl: REPO_ROOT, paths: { 'ts-celery': ['src/index.ts'] } };
}

function compile(blocks: ReadmeBlock[], preludes: Map<ReadmeBlock, string>, oldProgram?: ts.Program): ts.Program {
  const options = compilerOptions();
  const sources = new Map(blocks.map((b) => [fileOf(b), `${preludes.get(b) ?? ''}export {}; ${b.code}`]));
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile, directoryExists } = host;
  host.fileExists = (f) => sources.has(f) || fileExists.call(host, f);
  host.directoryExists = (d) => d === VIRTUAL_DIR || (directoryExists?.call(host, d) ?? ts.sys.directoryExists(d));
  host.readFile = (f) => sources.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, languageVersion, onError, shouldCreate) => {
    const text = sources.get(f);
    return text !== undefined ? ts.createSourceFile(f, text, languageVersion, true) : getSourceFile.call(host, f, languageVersion, onError, shouldCreate);
  };
  return ts.createProgram({ rootNames: [...sources.keys()], options, host, oldProgram });
}

function diagnosticsOf(program: ts.Program, b: ReadmeBlock): readonly ts.Diagnostic[] {
  const file = program.getSourceFile(fileOf(b))!;
  return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
}

export interface ReadmeCheck {
  block: ReadmeBlock;
  /** Compiles with no help: no earlier block's names, no declared placeholders. */
  selfContained: boolean;
  /** Names imported from earlier blocks. */
  imported: string[];
  /** `README.md:line:col message` for every remaining error. */
  errors: string[];
}

/** Type-check every block; names a block uses but lacks come from the nearest earlier block exporting them. */
export function typeCheckReadme(blocks = readmeBlocks()): ReadmeCheck[] {
  const first = compile(blocks, new Map());
  const checker = first.getTypeChecker();
  const exportsOf = new Map(
    blocks.map((b) => {
      const symbol = checker.getSymbolAtLocation(first.getSourceFile(fileOf(b))!);
      return [b, new Set(symbol ? checker.getExportsOfModule(symbol).map((s) => s.name) : [])];
    }),
  );
  const missing = new Map(
    blocks.map((b) => {
      const names = diagnosticsOf(first, b)
        .filter((d) => MISSING_NAME.has(d.code) && d.start !== undefined)
        .map((d) => d.file!.text.slice(d.start!, d.start! + d.length!));
      return [b, [...new Set(names)]];
    }),
  );
  const preludes = new Map<ReadmeBlock, string>();
  const imported = new Map<ReadmeBlock, string[]>();
  for (const [i, b] of blocks.entries()) {
    const bySource = new Map<ReadmeBlock, string[]>();
    for (const name of missing.get(b)!) {
      const source = blocks.slice(0, i).reverse().find((earlier) => exportsOf.get(earlier)!.has(name));
      if (source) bySource.set(source, [...(bySource.get(source) ?? []), name]);
    }
    const imports = [...bySource].map(([source, names]) => `import { ${names.join(', ')} } from './${fileOf(source).split('/').at(-1)!.replace(/\.ts$/, '.js')}'; `);
    imported.set(b, [...bySource.values()].flat());
    // One line, so README line numbers stay as they are.
    preludes.set(b, imports.join('') + b.declarations.replace(/\n/g, ' ') + ' ');
  }
  const second = compile(blocks, preludes, first);
  return blocks.map((b) => {
    const prelude = preludes.get(b)!.length + 'export {}; '.length;
    const errors = diagnosticsOf(second, b).map((d) => {
      const { line, character } = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
      const col = line === 0 ? character - prelude : character;
      const where = col < 0 ? `${b.line} (the names imported or declared for the block)` : `${b.line + line}:${col + 1}`;
      return `README.md:${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    return { block: b, selfContained: missing.get(b)!.length === 0 && !b.declarations, imported: imported.get(b)!, errors };
  });
}

/**
 * The block as a file that runs from anywhere: `ts-celery` → src/index.ts, other bare
 * specifiers → the repository's own node_modules.
 */
export function runnableSource(code: string): string {
  return code.replace(/(from\s+|import\s*\(\s*)(['"])([^'"./][^'"]*)\2/g, (_, lead: string, quote: string, spec: string) => {
    const target = spec === 'ts-celery' ? pathToFileURL(resolve(REPO_ROOT, 'src/index.ts')).href : import.meta.resolve(spec);
    return `${lead}${quote}${target}${quote}`;
  });
}
