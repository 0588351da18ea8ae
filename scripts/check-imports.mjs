// @ts-check
/**
 * The house's floors, checked from the imports (`npm run lint` runs it). Each folder of src/
 * sits on a floor and may import only from the floors below it (and from its own); the
 * repository's other folders (tests' support, benchmarks, the web app) have their own
 * rules. ARCHITECTURE.md explains each rule; this file enforces them.
 *
 * Usage: node scripts/check-imports.mjs [ROOT]   exit 0 when the house holds, 1 otherwise
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The floors of src/, lowest first. A path is a folder (ending in /) or a file; the longest
 * matching path names a file's floor. `may` lists the floors a floor's files may import.
 */
export const FLOORS = [
  { name: 'base', paths: ['src/errors.ts', 'src/units.ts', 'src/numbers.ts'], may: [] },
  { name: 'spec', paths: ['src/engines/spec.ts'], may: ['base'] },
  { name: 'store', paths: ['src/store/'], may: ['base'] },
  { name: 'http', paths: ['src/http/'], may: ['base', 'spec'] },
  { name: 'models', paths: ['src/models/'], may: ['base', 'http'] },
  { name: 'measure', paths: ['src/measure/'], may: ['base', 'spec'] },
  {
    name: 'engines',
    paths: ['src/engines/'],
    may: ['base', 'spec', 'http', 'models', 'measure'],
  },
  {
    name: 'generate',
    paths: ['src/generate/'],
    may: ['base', 'spec', 'http', 'models', 'measure', 'engines'],
  },
  {
    name: 'features',
    paths: ['src/compare/', 'src/plan/', 'src/bench/', 'src/rag/', 'src/chat/'],
    may: ['base', 'spec', 'store', 'http', 'models', 'measure', 'engines', 'generate'],
  },
  {
    name: 'server',
    paths: ['src/server/'],
    may: ['base', 'spec', 'store', 'http', 'models', 'measure', 'engines', 'generate', 'features'],
  },
  {
    name: 'cli',
    paths: ['src/cli/'],
    may: [
      'base',
      'spec',
      'store',
      'http',
      'models',
      'measure',
      'engines',
      'generate',
      'features',
      'server',
    ],
  },
  {
    name: 'api',
    paths: ['src/index.ts'],
    may: ['base', 'spec', 'store', 'http', 'models', 'measure', 'engines', 'generate', 'features'],
  },
];

/** The engine folders: each is one engine, registered in engines/registry.ts. */
const ENGINE_FOLDER = /^src\/engines\/([^/]+)\//;
/** The feature folders: each stands alone on the features floor. */
const FEATURE_FOLDER = /^src\/(compare|plan|bench|rag|chat)\//;

/** The folders whose TypeScript files are checked. */
const CHECKED_FOLDERS = ['src', 'test', 'e2e', 'benchmarks', 'web/src', 'scripts'];

/**
 * @typedef {{ from: string; line: number; specifier: string; target: string | undefined;
 *   typeOnly: boolean; dynamic: boolean }} ImportEdge
 * @typedef {{ file: string; line: number; specifier: string; rule: string }} Violation
 */

/** @param {string} path */
function toPosix(path) {
  return path.split(sep).join('/');
}

/**
 * @param {string} root
 * @param {string} folder
 * @param {string[]} out
 */
function walk(root, folder, out) {
  const absolute = join(root, folder);
  if (!existsSync(absolute)) return out;
  for (const entry of readdirSync(absolute).sort()) {
    if (entry === 'node_modules' || entry === 'dist' || entry === 'build') continue;
    const path = join(absolute, entry);
    if (statSync(path).isDirectory()) walk(root, toPosix(relative(root, path)), out);
    else if (/\.(ts|tsx|mts|mjs)$/.test(entry) && !entry.endsWith('.d.ts')) {
      out.push(toPosix(relative(root, path)));
    }
  }
  return out;
}

/**
 * The file a relative specifier names (`./x.js` is `./x.ts` or `./x.tsx` in the sources).
 * @param {string} root
 * @param {string} from
 * @param {string} specifier
 */
function resolveRelative(root, from, specifier) {
  const base = toPosix(relative(root, resolve(root, dirname(from), specifier)));
  const stem = base.replace(/\.(js|mjs|ts|tsx)$/, '');
  for (const candidate of [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mjs`]) {
    if (existsSync(join(root, candidate)) && statSync(join(root, candidate)).isFile())
      return candidate;
  }
  return undefined;
}

/**
 * Every import of a file: static imports and re-exports (type-only or not) and import().
 * @param {string} root
 * @param {string} file
 * @returns {ImportEdge[]}
 */
export function importsOf(root, file) {
  const text = readFileSync(join(root, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  /** @type {ImportEdge[]} */
  const edges = [];
  /**
   * @param {ts.Node} node
   * @param {string} specifier
   * @param {boolean} typeOnly
   * @param {boolean} dynamic
   */
  const add = (node, specifier, typeOnly, dynamic) => {
    const line = source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
    const target = specifier.startsWith('.') ? resolveRelative(root, file, specifier) : undefined;
    edges.push({ from: file, line, specifier, target, typeOnly, dynamic });
  };
  /** @param {ts.Node} node */
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((element) => element.isTypeOnly)));
      add(node, node.moduleSpecifier.text, typeOnly, false);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node, node.moduleSpecifier.text, node.isTypeOnly, false);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      add(node, node.arguments[0].text, false, true);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      add(node, node.argument.literal.text, true, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** @param {string} file */
function floorOf(file) {
  let best;
  let bestLength = -1;
  for (const floor of FLOORS) {
    for (const path of floor.paths) {
      const matches = path.endsWith('/') ? file.startsWith(path) : file === path;
      if (matches && path.length > bestLength) {
        best = floor;
        bestLength = path.length;
      }
    }
  }
  return best;
}

/** @param {string} file */
const isTest = (file) => /\.test\.tsx?$/.test(file);

/** @param {string} specifier */
function packageName(specifier) {
  if (specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * The rule an import breaks, or undefined when it is allowed.
 * @param {ImportEdge} edge
 * @param {Set<string>} dependencies
 * @returns {string | undefined}
 */
function ruleBroken(edge, dependencies) {
  const { from, target, specifier } = edge;
  const test = isTest(from);
  if (target === undefined) {
    if (specifier.startsWith('.')) return `'${specifier}' names no file`;
    // A package: shipped code (src/, not its tests) imports only runtime dependencies.
    const name = packageName(specifier);
    if (
      from.startsWith('src/') &&
      !test &&
      name !== undefined &&
      !builtinModules.includes(name) &&
      !dependencies.has(name)
    ) {
      return `shipped code imports '${name}', which is not in package.json's dependencies`;
    }
    return undefined;
  }
  if (target.startsWith('benchmarks/') && !from.startsWith('benchmarks/')) {
    return 'only benchmarks/ imports benchmarks/';
  }
  if (
    target.startsWith('test/') &&
    !(test || from.startsWith('test/') || from.startsWith('benchmarks/') || from.startsWith('e2e/'))
  ) {
    return 'shipped code never imports test/ (test support is for tests and benchmarks)';
  }
  if (target.startsWith('e2e/') && !from.startsWith('e2e/')) return 'only e2e/ imports e2e/';
  if (target.startsWith('scripts/') && !from.startsWith('scripts/')) {
    return 'only scripts/ imports scripts/';
  }
  if (target.startsWith('web/') && !from.startsWith('web/')) return 'only web/ imports web/';
  // Tests may look at the house from any floor; only shipped code keeps to its floor.
  if (test || !from.startsWith('src/') || !target.startsWith('src/')) return undefined;

  const fromFloor = floorOf(from);
  const targetFloor = floorOf(target);
  if (fromFloor === undefined) return `${from} is on no floor: add its folder to FLOORS`;
  if (targetFloor === undefined) return `${target} is on no floor: add its folder to FLOORS`;
  if (fromFloor !== targetFloor && !fromFloor.may.includes(targetFloor.name)) {
    return `${fromFloor.name} may not import ${targetFloor.name} (it may import ${fromFloor.may.join(', ') || 'nothing else'})`;
  }
  const fromEngine = ENGINE_FOLDER.exec(from)?.[1];
  const targetEngine = ENGINE_FOLDER.exec(target)?.[1];
  if (targetEngine !== undefined && fromEngine !== targetEngine && fromFloor.name === 'engines') {
    if (from !== 'src/engines/registry.ts' && !(test && fromEngine === undefined)) {
      return `an engine folder is reached only through engines/registry.ts (engines/${targetEngine}/ from ${from})`;
    }
  }
  const fromFeature = FEATURE_FOLDER.exec(from)?.[1];
  const targetFeature = FEATURE_FOLDER.exec(target)?.[1];
  if (fromFeature !== undefined && targetFeature !== undefined && fromFeature !== targetFeature) {
    return `features stand alone: ${fromFeature}/ may not import ${targetFeature}/ (share through generate/ or a lower floor)`;
  }
  return undefined;
}

/**
 * Cycles among shipped files through imports that run (type-only imports are erased).
 * @param {ImportEdge[]} edges
 * @returns {string[][]}
 */
export function findCycles(edges) {
  /** @type {Map<string, string[]>} */
  const graph = new Map();
  for (const edge of edges) {
    if (edge.typeOnly || edge.target === undefined) continue;
    if (!edge.from.startsWith('src/') || isTest(edge.from)) continue;
    const list = graph.get(edge.from) ?? [];
    list.push(edge.target);
    graph.set(edge.from, list);
  }
  // Tarjan's strongly connected components.
  let index = 0;
  /** @type {Map<string, number>} */
  const indices = new Map();
  /** @type {Map<string, number>} */
  const lowlinks = new Map();
  /** @type {string[]} */
  const stack = [];
  const onStack = new Set();
  /** @type {string[][]} */
  const cycles = [];
  /** @param {string} node */
  const connect = (node) => {
    indices.set(node, index);
    lowlinks.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indices.has(next)) {
        connect(next);
        lowlinks.set(node, Math.min(lowlinks.get(node) ?? 0, lowlinks.get(next) ?? 0));
      } else if (onStack.has(next)) {
        lowlinks.set(node, Math.min(lowlinks.get(node) ?? 0, indices.get(next) ?? 0));
      }
    }
    if (lowlinks.get(node) === indices.get(node)) {
      /** @type {string[]} */
      const component = [];
      let member;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) connect(node);
  return cycles;
}

/**
 * Why a file of src/ cannot run in the browser: it or a file it imports (values, not types)
 * imports a Node module or a package. Undefined when it can.
 * @param {string} file
 * @param {ImportEdge[]} edges
 */
function notBrowserSafe(file, edges) {
  const seen = new Set([file]);
  const queue = [file];
  while (queue.length > 0) {
    const current = /** @type {string} */ (queue.shift());
    for (const edge of edges) {
      if (edge.from !== current || edge.typeOnly) continue;
      if (edge.target === undefined) {
        if (!edge.specifier.startsWith('.')) return `${current} imports '${edge.specifier}'`;
      } else if (!seen.has(edge.target)) {
        seen.add(edge.target);
        queue.push(edge.target);
      }
    }
  }
  return undefined;
}

/**
 * Checks every import under `root`; returns the violations (empty when the house holds).
 * @param {string} root
 * @returns {Violation[]}
 */
export function checkImports(root) {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dependencies = new Set(Object.keys(manifest.dependencies ?? {}));
  const files = CHECKED_FOLDERS.flatMap((folder) => walk(root, folder, []));
  const edges = files.flatMap((file) => importsOf(root, file));
  /** @type {Violation[]} */
  const violations = [];
  for (const edge of edges) {
    const rule = ruleBroken(edge, dependencies);
    if (rule !== undefined) {
      violations.push({ file: edge.from, line: edge.line, specifier: edge.specifier, rule });
    }
  }
  for (const edge of edges) {
    if (!edge.from.startsWith('web/') || edge.typeOnly || !edge.target?.startsWith('src/'))
      continue;
    const reason = notBrowserSafe(edge.target, edges);
    if (reason !== undefined) {
      violations.push({
        file: edge.from,
        line: edge.line,
        specifier: edge.specifier,
        rule: `the web app runs in a browser: ${reason} (share types with import type, or move the shared code where it needs no Node)`,
      });
    }
  }
  for (const cycle of findCycles(edges)) {
    violations.push({
      file: cycle[0] ?? '',
      line: 1,
      specifier: '',
      rule: `import cycle: ${cycle.join(' <-> ')}`,
    });
  }
  return violations;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
  const violations = checkImports(root);
  for (const { file, line, specifier, rule } of violations) {
    process.stderr.write(`${file}:${line} ${specifier === '' ? '' : `'${specifier}': `}${rule}\n`);
  }
  if (violations.length > 0) {
    process.stderr.write(
      `${violations.length} import${violations.length === 1 ? '' : 's'} against the house's floors: see ARCHITECTURE.md.\n`,
    );
    process.exitCode = 1;
  }
}
