/**
 * Checks a JSON schema before node-llama-cpp turns it into a grammar. node-llama-cpp's
 * converter does not complain about what it cannot enforce: it ignores unknown keywords
 * (`pattern`, `minimum`, `allOf`...), turns a schema without a type into `null`, and an
 * unresolvable `$ref` into any JSON. Its output would then not match the schema, so such
 * schemas are refused here with a message that names the first unsupported part.
 *
 * A few spellings are rewritten to ones node-llama-cpp knows: `anyOf` becomes `oneOf` (a
 * grammar allows one branch at a time anyway), a type list that holds `object` or `array` or
 * comes with keywords of its own becomes a `oneOf` of one schema per type, and draft-07
 * `definitions` / `#/definitions/…` become `$defs` / `#/$defs/…`.
 */
import type { GbnfJsonSchema } from 'node-llama-cpp';

/** Keywords that only describe a value; allowed anywhere and ignored. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$comment',
  '$schema',
  '$id',
  '$defs',
]);

const BASIC_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const STRING_FORMATS = new Set(['date-time', 'time', 'date']);

/** The keywords node-llama-cpp reads for each kind of schema (besides the annotations). */
const KEYWORDS: Record<SchemaKind, ReadonlySet<string>> = {
  ref: new Set(['$ref']),
  oneOf: new Set(['oneOf']),
  const: new Set(['const', 'type']),
  enum: new Set(['enum', 'type']),
  object: new Set([
    'type',
    'properties',
    'additionalProperties',
    'required',
    'minProperties',
    'maxProperties',
  ]),
  array: new Set(['type', 'items', 'prefixItems', 'minItems', 'maxItems']),
  string: new Set(['type', 'minLength', 'maxLength', 'format']),
  basic: new Set(['type']),
};

type SchemaKind = 'ref' | 'oneOf' | 'const' | 'enum' | 'object' | 'array' | 'string' | 'basic';

/** A schema node-llama-cpp cannot enforce; `message` names the part and where it is. */
export class UnsupportedJsonSchemaError extends Error {}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isLiteral(value: unknown): boolean {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

function pointer(path: string): string {
  return path === '' ? 'the root' : `#${path}`;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

function fail(what: string, path: string): never {
  throw new UnsupportedJsonSchemaError(`${what} at ${pointer(path)}`);
}

/**
 * The schema as node-llama-cpp should read it, or an UnsupportedJsonSchemaError whose message
 * says what is not supported and where (e.g. `'pattern' at #/properties/email`).
 */
export function grammarJsonSchema(schema: unknown): GbnfJsonSchema {
  return normalize(schema, '', new Set()) as GbnfJsonSchema;
}

function kindOf(schema: JsonObject, path: string): SchemaKind {
  if ('$ref' in schema) return 'ref';
  if ('oneOf' in schema) return 'oneOf';
  if ('const' in schema) return 'const';
  if ('enum' in schema) return 'enum';
  const type = schema.type;
  if (type === 'object') return 'object';
  if (type === 'array') return 'array';
  if (type === 'string') return 'string';
  if (typeof type === 'string') {
    if (BASIC_TYPES.has(type)) return 'basic';
    fail(`type '${type}'`, path);
  }
  if (Array.isArray(type)) {
    if (type.length === 0) fail('an empty type list', path);
    for (const item of type) {
      if (typeof item !== 'string' || !BASIC_TYPES.has(item)) {
        fail(`type ${JSON.stringify(item)} in a type list`, path);
      }
    }
    return 'basic';
  }
  if (type !== undefined) fail('a type that is not a string', path);
  fail('a schema without a type (nor const, enum, oneOf, anyOf or $ref)', path);
}

function normalize(input: unknown, path: string, outerDefs: ReadonlySet<string>): JsonObject {
  if (typeof input === 'boolean') fail(`the boolean schema ${input}`, path);
  if (!isObject(input)) fail('a schema that is not an object', path);
  let schema: JsonObject = { ...input };
  const union = 'anyOf' in schema ? 'anyOf' : 'oneOf';
  if ('anyOf' in schema) {
    if ('oneOf' in schema) fail("'anyOf' beside 'oneOf'", path);
    schema.oneOf = schema.anyOf;
    delete schema.anyOf;
  }
  if ('definitions' in schema) {
    if ('$defs' in schema) fail("'definitions' beside '$defs'", path);
    schema.$defs = schema.definitions;
    delete schema.definitions;
  }
  if (typeof schema.$ref === 'string' && schema.$ref.startsWith('#/definitions/')) {
    schema.$ref = `#/$defs/${schema.$ref.slice('#/definitions/'.length)}`;
  }

  // Definitions are visible to the node that declares them and everything below it.
  let defs = outerDefs;
  if (schema.$defs !== undefined) {
    if (!isObject(schema.$defs)) fail("'$defs' that is not an object", path);
    defs = new Set([...outerDefs, ...Object.keys(schema.$defs)]);
    const normalized: JsonObject = {};
    for (const [name, definition] of Object.entries(schema.$defs)) {
      normalized[name] = normalize(definition, `${path}/$defs/${escapePointer(name)}`, defs);
    }
    schema.$defs = normalized;
  }

  const split = splitTypeList(schema, path);
  if (split !== undefined) schema = split;
  const kind = kindOf(schema, path);
  const allowed = KEYWORDS[kind];
  for (const key of Object.keys(schema)) {
    if (allowed.has(key) || ANNOTATIONS.has(key)) continue;
    const beside =
      kind === 'basic' || kind === 'string'
        ? ''
        : ` beside '${kind === 'oneOf' ? union : besideWord(kind)}'`;
    fail(`'${key}'${beside}`, path);
  }

  switch (kind) {
    case 'ref': {
      const ref = schema.$ref;
      if (typeof ref !== 'string' || !ref.startsWith('#/$defs/')) {
        fail(`'$ref' ${JSON.stringify(ref)} (only '#/$defs/NAME' references are supported)`, path);
      }
      const name = ref.slice('#/$defs/'.length);
      if (!defs.has(name)) fail(`'$ref' to the missing definition '${name}'`, path);
      break;
    }
    case 'oneOf': {
      const options = schema.oneOf;
      if (!Array.isArray(options) || options.length === 0) {
        fail(`'${union}' that is not a non-empty list`, path);
      }
      // The branches of a split type list are at the path of the schema they came from.
      schema.oneOf = options.map((option, index) =>
        normalize(option, split === undefined ? `${path}/${union}/${index}` : path, defs),
      );
      break;
    }
    case 'const':
      if (!isLiteral(schema.const))
        fail("'const' that is not a string, number, boolean or null", path);
      break;
    case 'enum': {
      const values = schema.enum;
      if (!Array.isArray(values) || values.length === 0)
        fail("'enum' that is not a non-empty list", path);
      if (!values.every(isLiteral)) {
        fail("'enum' with a value that is not a string, number, boolean or null", path);
      }
      break;
    }
    case 'object': {
      const properties = schema.properties ?? {};
      if (!isObject(properties)) fail("'properties' that is not an object", path);
      if (schema.properties !== undefined) {
        const normalized: JsonObject = {};
        for (const [name, property] of Object.entries(properties)) {
          normalized[name] = normalize(property, `${path}/properties/${escapePointer(name)}`, defs);
        }
        schema.properties = normalized;
      }
      const required = schema.required;
      if (required !== undefined) {
        if (!Array.isArray(required)) fail("'required' that is not a list", path);
        for (const name of required) {
          if (typeof name !== 'string' || !Object.hasOwn(properties, name)) {
            fail(`'required' name ${JSON.stringify(name)} that is not among 'properties'`, path);
          }
        }
      }
      const additional = schema.additionalProperties;
      if (additional !== undefined && typeof additional !== 'boolean') {
        schema.additionalProperties = normalize(additional, `${path}/additionalProperties`, defs);
      }
      checkCount(schema, 'minProperties', path);
      checkCount(schema, 'maxProperties', path);
      break;
    }
    case 'array': {
      if (schema.items !== undefined) {
        schema.items = normalize(schema.items, `${path}/items`, defs);
      }
      if (schema.prefixItems !== undefined) {
        if (!Array.isArray(schema.prefixItems)) fail("'prefixItems' that is not a list", path);
        schema.prefixItems = schema.prefixItems.map((item, index) =>
          normalize(item, `${path}/prefixItems/${index}`, defs),
        );
      }
      checkCount(schema, 'minItems', path);
      checkCount(schema, 'maxItems', path);
      break;
    }
    case 'string': {
      const format = schema.format;
      if (format !== undefined && (typeof format !== 'string' || !STRING_FORMATS.has(format))) {
        fail(`format ${JSON.stringify(format)} (only date-time, time and date are)`, path);
      }
      if (format !== undefined && ('minLength' in schema || 'maxLength' in schema)) {
        fail("'minLength' or 'maxLength' beside 'format'", path);
      }
      checkCount(schema, 'minLength', path);
      checkCount(schema, 'maxLength', path);
      break;
    }
    case 'basic':
      break;
  }
  return schema;
}

function kindOfType(type: string): SchemaKind {
  return type === 'object' || type === 'array' || type === 'string' ? type : 'basic';
}

/**
 * `{type: ['object', 'null'], properties: …}` as `{oneOf: [{type: 'object', properties: …},
 * {type: 'null'}]}`: node-llama-cpp reads a type list only for basic types without keywords.
 * Undefined when the schema needs no split.
 */
function splitTypeList(schema: JsonObject, path: string): JsonObject | undefined {
  const types = schema.type;
  if (!Array.isArray(types)) return undefined;
  if (['$ref', 'oneOf', 'const', 'enum'].some((key) => key in schema)) return undefined;
  if (!types.every((type): type is string => typeof type === 'string')) return undefined;
  if (types.length === 1) return { ...schema, type: types[0] };
  if (types.length === 0) return undefined;
  const keywords = Object.keys(schema).filter((key) => key !== 'type' && !ANNOTATIONS.has(key));
  if (keywords.length === 0 && !types.some((type) => type === 'object' || type === 'array')) {
    return undefined;
  }
  const used = new Set<string>();
  const branches = types.map((type) => {
    const branch: JsonObject = { type };
    for (const key of KEYWORDS[kindOfType(type)]) {
      if (key === 'type' || !(key in schema)) continue;
      branch[key] = schema[key];
      used.add(key);
    }
    return branch;
  });
  for (const key of keywords) {
    if (!used.has(key)) fail(`'${key}' for the types ${JSON.stringify(types)}`, path);
  }
  const result: JsonObject = { oneOf: branches };
  for (const key of Object.keys(schema)) if (ANNOTATIONS.has(key)) result[key] = schema[key];
  return result;
}

function besideWord(kind: SchemaKind): string {
  switch (kind) {
    case 'ref':
      return '$ref';
    case 'oneOf':
      return 'oneOf';
    case 'const':
      return 'const';
    case 'enum':
      return 'enum';
    default:
      return `type: ${kind}`;
  }
}

function checkCount(schema: JsonObject, key: string, path: string): void {
  const value = schema[key];
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    fail(`'${key}' that is not a whole number ≥ 0`, path);
  }
}
