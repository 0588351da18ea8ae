/**
 * `tandem serve`'s flag parsing: durations, CORS origins, NAME=REF models, and the options
 * handed to startServer. Nothing here starts a server.
 */
import { describe, expect, it } from 'vitest';
import { fakeTerminal } from '../../test/support/fake-terminal.js';
import { InvalidArgumentError } from '../errors.js';
import { DEFAULT_PORT, isLoopbackHost, parseServedModel, servedModels } from '../server/serve.js';
import { parseCors, parseKeepAlive, serveOptionsFrom } from './serve-command.js';

function terminal() {
  return fakeTerminal({ TANDEM_TEST_MARKER: 'serve' });
}

describe('parseKeepAlive', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['250ms', 250],
    ['90', 90_000],
    ['0', 0],
    ['1.5m', 90_000],
    [' 10S ', 10_000],
    ['2H', 7_200_000],
  ])('reads %j as %d ms', (text, ms) => {
    expect(parseKeepAlive(text)).toBe(ms);
  });

  it.each(['forever', 'FOREVER', ' Forever ', '-1'])('reads %j as never unloading', (text) => {
    expect(parseKeepAlive(text)).toBe(Number.POSITIVE_INFINITY);
  });

  it.each(['', ' ', 'soon', '5d', '-5s', '-2', '5 m', '1e3', 'ms', 's', '.5s', '5.s', 'Infinity'])(
    'refuses %j',
    (text) => {
      expect(() => parseKeepAlive(text)).toThrow(InvalidArgumentError);
    },
  );

  it('names the bad value in its error', () => {
    expect(() => parseKeepAlive('a while')).toThrow(/--keep-alive 'a while' is not a duration/);
  });
});

describe('parseCors', () => {
  it('defaults to localhost pages', () => {
    expect(parseCors(undefined)).toBe('localhost');
  });

  it('reads a comma-separated list of origins, trimming spaces and empty entries', () => {
    expect(parseCors('http://localhost:3000, https://app.example.com,,')).toEqual([
      'http://localhost:3000',
      'https://app.example.com',
    ]);
    expect(parseCors('https://[::1]:8443')).toEqual(['https://[::1]:8443']);
  });

  it('reads * (alone or in a list) as any origin', () => {
    expect(parseCors('*')).toBe('*');
    expect(parseCors('http://a.test, *')).toBe('*');
  });

  it('allows the null origin (file:// pages)', () => {
    expect(parseCors('null')).toEqual(['null']);
    expect(parseCors('null,http://a.test')).toEqual(['null', 'http://a.test']);
  });

  it.each([
    'localhost:3000',
    'a.test',
    'ftp://a.test',
    'http://a.test/',
    'https://a.test/app',
    'http://',
    'http://a test',
    'file://',
    'NULL',
  ])('refuses the origin %j', (origin) => {
    expect(() => parseCors(origin)).toThrow(InvalidArgumentError);
  });

  it('names the bad origin in a list', () => {
    expect(() => parseCors('http://good.test,bad.test')).toThrow(/--cors origin 'bad\.test'/);
  });
});

describe('parseServedModel', () => {
  it('splits NAME=REF at the first =, trimming both', () => {
    expect(parseServedModel('a=demo-slm')).toEqual({ name: 'a', reference: 'demo-slm' });
    expect(parseServedModel(' phi-4 = foundry:phi-4-mini ')).toEqual({
      name: 'phi-4',
      reference: 'foundry:phi-4-mini',
    });
    expect(parseServedModel('remote=http://box:8080/v1#qwen')).toEqual({
      name: 'remote',
      reference: 'http://box:8080/v1#qwen',
    });
    expect(parseServedModel('org/model:q4@v1+x=demo-llm?threads=1')).toEqual({
      name: 'org/model:q4@v1+x',
      reference: 'demo-llm?threads=1',
    });
  });

  it.each(['demo-slm', '=demo-slm', 'a=', ''])('refuses %j, which is not NAME=REF', (text) => {
    expect(() => parseServedModel(text)).toThrow(/is not NAME=REF/);
  });

  it('refuses names with other characters, or too long', () => {
    expect(() => parseServedModel('my model=demo-slm')).toThrow(InvalidArgumentError);
    expect(() => parseServedModel('a,b=demo-slm')).toThrow(/may only use letters/);
    expect(() => parseServedModel(`${'x'.repeat(129)}=demo-slm`)).toThrow(InvalidArgumentError);
    expect(parseServedModel(`${'x'.repeat(128)}=demo-slm`).name).toHaveLength(128);
  });

  it('refuses a reference that is not one', () => {
    expect(() => parseServedModel('a=  ')).toThrow(InvalidArgumentError);
    expect(() => parseServedModel('a=ftp://box/v1#m')).toThrow(InvalidArgumentError);
  });
});

describe('servedModels', () => {
  it('serves the demo models after the user’s', () => {
    expect(servedModels([])).toEqual([
      { name: 'demo-slm', reference: 'demo-slm' },
      { name: 'demo-llm', reference: 'demo-llm' },
    ]);
    expect(servedModels([{ name: 'small', reference: 'demo-slm' }])).toEqual([
      { name: 'small', reference: 'demo-slm' },
      { name: 'demo-slm', reference: 'demo-slm' },
      { name: 'demo-llm', reference: 'demo-llm' },
    ]);
  });

  it('serves pulled catalog models under their names, unless a user model took the name', () => {
    expect(servedModels([], ['phi-4-mini', 'qwen2.5-0.5b'])).toEqual([
      { name: 'phi-4-mini', reference: 'phi-4-mini' },
      { name: 'qwen2.5-0.5b', reference: 'qwen2.5-0.5b' },
      { name: 'demo-slm', reference: 'demo-slm' },
      { name: 'demo-llm', reference: 'demo-llm' },
    ]);
    expect(
      servedModels([{ name: 'phi-4-mini', reference: 'foundry:phi-4-mini' }], ['phi-4-mini']),
    ).toEqual([
      { name: 'phi-4-mini', reference: 'foundry:phi-4-mini' },
      { name: 'demo-slm', reference: 'demo-slm' },
      { name: 'demo-llm', reference: 'demo-llm' },
    ]);
  });

  it('refuses a name given twice', () => {
    expect(() =>
      servedModels([
        { name: 'a', reference: 'demo-slm' },
        { name: 'a', reference: 'demo-llm' },
      ]),
    ).toThrow(/--model a is given twice/);
  });

  it.each(['demo-slm', 'demo-llm'])('refuses the demo model name %j for a user model', (name) => {
    expect(() => servedModels([{ name, reference: 'foundry:phi-4-mini' }])).toThrow(
      InvalidArgumentError,
    );
    expect(() => servedModels([{ name, reference: name }])).toThrow(/built-in demo model/);
  });
});

describe('isLoopbackHost', () => {
  it.each(['localhost', '127.0.0.1', '127.0.0.53', '127.255.255.254', '::1', '[::1]'])(
    '%j is loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
    },
  );

  it.each([
    '0.0.0.0',
    '::',
    '[::]',
    '192.168.1.10',
    '10.0.0.1',
    'example.com',
    '127.0.0.1.example.com',
    'localhost.example.com',
    '128.0.0.1',
    '127.0.0',
    '',
  ])('%j is not loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('serveOptionsFrom', () => {
  it('has the documented defaults', () => {
    const term = terminal();
    const options = serveOptionsFrom({}, term);
    expect(DEFAULT_PORT).toBe(5273);
    expect(options).toMatchObject({
      host: '127.0.0.1',
      port: 5273,
      models: [],
      cors: 'localhost',
      maxConcurrency: 4,
      maxQueue: 64,
      keepAliveMs: 5 * 60_000,
    });
    expect('apiKey' in options).toBe(false);
    expect('allowUnauthenticated' in options).toBe(false);
    expect(options.engineOptions?.env).toBe(term.env);
    expect(options.engineOptions).not.toHaveProperty('threads');
  });

  it('takes every flag', () => {
    const options = serveOptionsFrom(
      {
        host: '0.0.0.0',
        port: '8080',
        model: ['a=demo-slm', 'b=foundry:phi-4-mini'],
        apiKey: 'secret',
        allowUnauthenticated: true,
        cors: 'http://a.test',
        maxConcurrency: '2',
        maxQueue: '0',
        keepAlive: 'forever',
        threads: 3,
        gpu: 'cpu',
        db: '/tmp/x.db',
        browserModel: ['phi=./models/phi-onnx'],
      },
      terminal(),
    );
    expect(options).toMatchObject({
      databasePath: '/tmp/x.db',
      browserModels: [{ name: 'phi', path: './models/phi-onnx' }],
      host: '0.0.0.0',
      port: 8080,
      models: [
        { name: 'a', reference: 'demo-slm' },
        { name: 'b', reference: 'foundry:phi-4-mini' },
      ],
      apiKey: 'secret',
      allowUnauthenticated: true,
      cors: ['http://a.test'],
      maxConcurrency: 2,
      maxQueue: 0,
      keepAliveMs: Number.POSITIVE_INFINITY,
    });
    expect(options.engineOptions).toMatchObject({ threads: 3, gpu: 'cpu' });
  });

  it('leaves allowUnauthenticated out when the flag is false', () => {
    expect(
      'allowUnauthenticated' in serveOptionsFrom({ allowUnauthenticated: false }, terminal()),
    ).toBe(false);
  });

  it.each(['0', '1', '65535'])('accepts --port %s', (port) => {
    expect(serveOptionsFrom({ port }, terminal()).port).toBe(Number(port));
  });

  it.each(['65536', '70000', '-1', '80.5', 'http', ''])('refuses --port %j', (port) => {
    expect(() => serveOptionsFrom({ port }, terminal())).toThrow(InvalidArgumentError);
  });

  it('refuses a --browser-model without =', () => {
    expect(() => serveOptionsFrom({ browserModel: ['./models/phi'] }, terminal())).toThrow(
      /--browser-model '\.\/models\/phi' is not NAME=FOLDER/,
    );
  });

  it('refuses a --model without =', () => {
    expect(() => serveOptionsFrom({ model: ['a=demo-slm', 'demo-llm'] }, terminal())).toThrow(
      /--model 'demo-llm' is not NAME=REF/,
    );
  });

  it.each(['', '   '])('refuses an empty --api-key %j', (apiKey) => {
    expect(() => serveOptionsFrom({ apiKey }, terminal())).toThrow(/--api-key is empty/);
  });

  it('refuses bad numbers, durations and origins', () => {
    const bad = [
      { maxConcurrency: '0' },
      { maxConcurrency: 'many' },
      { maxQueue: '-1' },
      { maxQueue: '1.5' },
      { keepAlive: 'soon' },
      { cors: 'a.test' },
    ];
    for (const flags of bad) {
      expect(() => serveOptionsFrom(flags, terminal()), JSON.stringify(flags)).toThrow(
        InvalidArgumentError,
      );
    }
  });

  it('reads --keep-alive durations', () => {
    expect(serveOptionsFrom({ keepAlive: '30s' }, terminal()).keepAliveMs).toBe(30_000);
    expect(serveOptionsFrom({ keepAlive: '-1' }, terminal()).keepAliveMs).toBe(
      Number.POSITIVE_INFINITY,
    );
  });
});
