import type { GbnfJsonSchema } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { grammarJsonSchema, UnsupportedJsonSchemaError } from './json-schema-grammar.js';
import { getLlamaRuntime } from './llama-runtime.js';

function refusal(schema: unknown): string {
  try {
    grammarJsonSchema(schema);
  } catch (error) {
    if (error instanceof UnsupportedJsonSchemaError) return error.message;
    throw error;
  }
  throw new Error('expected the schema to be refused');
}

describe('grammarJsonSchema', () => {
  it('passes a schema node-llama-cpp supports through unchanged', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'Person',
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 40, description: 'Full name' },
        born: { type: 'string', format: 'date' },
        age: { type: ['integer', 'null'] },
        tags: { type: 'array', items: { enum: ['a', 'b', 1, true, null] }, maxItems: 3 },
        pair: { type: 'array', prefixItems: [{ type: 'number' }, { const: 'x' }] },
        extra: { type: 'object', additionalProperties: { type: 'boolean' } },
        kind: { oneOf: [{ $ref: '#/$defs/kind' }, { type: 'null' }] },
      },
      required: ['name', 'age'],
      additionalProperties: false,
      $defs: { kind: { type: 'string', enum: ['x', 'y'] } },
    };
    expect(grammarJsonSchema(schema)).toEqual(schema);
  });

  it('rewrites anyOf, draft-07 definitions and type lists that hold objects', () => {
    expect(
      grammarJsonSchema({
        definitions: { n: { type: 'number' } },
        anyOf: [{ $ref: '#/definitions/n' }, { type: 'string' }],
      }),
    ).toEqual({
      $defs: { n: { type: 'number' } },
      oneOf: [{ $ref: '#/$defs/n' }, { type: 'string' }],
    });
    expect(
      grammarJsonSchema({
        description: 'maybe a point',
        type: ['object', 'null'],
        properties: { x: { type: 'number' } },
        required: ['x'],
      }),
    ).toEqual({
      description: 'maybe a point',
      oneOf: [
        { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] },
        { type: 'null' },
      ],
    });
    expect(grammarJsonSchema({ type: ['string'], maxLength: 2 })).toEqual({
      type: 'string',
      maxLength: 2,
    });
  });

  it('names what it cannot enforce, and where', () => {
    expect(refusal({ type: 'object', properties: { e: { type: 'string', pattern: '@' } } })).toBe(
      "'pattern' at #/properties/e",
    );
    expect(refusal({ type: 'integer', minimum: 0 })).toBe("'minimum' at the root");
    expect(refusal({ allOf: [{ type: 'string' }] })).toMatch(/^a schema without a type/);
    expect(refusal({ type: 'string', allOf: [] })).toBe("'allOf' at the root");
    expect(refusal({ type: 'object', properties: { a: true } })).toBe(
      'the boolean schema true at #/properties/a',
    );
    expect(refusal({ type: 'string', format: 'email' })).toBe(
      'format "email" (only date-time, time and date are) at the root',
    );
    expect(refusal({ type: 'object', properties: {}, required: ['b'] })).toBe(
      `'required' name "b" that is not among 'properties' at the root`,
    );
    expect(refusal({ $ref: 'https://example.com/schema' })).toMatch(/^'\$ref' "https:/);
    expect(refusal({ $ref: '#/$defs/nope' })).toBe(
      "'$ref' to the missing definition 'nope' at the root",
    );
    expect(refusal({ anyOf: [{ type: 'string' }], type: 'string' })).toBe(
      "'type' beside 'anyOf' at the root",
    );
    expect(refusal({ type: 'array', items: { type: 'tuple' } })).toBe("type 'tuple' at #/items");
    expect(refusal({ type: ['string', 'null'], pattern: 'x' })).toBe(
      `'pattern' for the types ["string","null"] at the root`,
    );
    expect(refusal({ type: 'array', maxItems: -1 })).toBe(
      "'maxItems' that is not a whole number ≥ 0 at the root",
    );
  });

  it('gives node-llama-cpp schemas it turns into grammars', async () => {
    const llama = await getLlamaRuntime('cpu');
    const grammar = await llama.createGrammarForJsonSchema<GbnfJsonSchema>(
      grammarJsonSchema({
        type: 'object',
        properties: {
          point: { type: ['object', 'null'], properties: { x: { type: 'number' } } },
          list: { type: 'array', items: { $ref: '#/definitions/item' } },
        },
        definitions: { item: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
      }),
    );
    expect(grammar.grammar).toContain('root ::=');
  });
});
