import { expect } from 'chai';
import { Interpolate, Property, Secret, Transform } from '../../lib/config/renderables.js';
import { Properties } from '../../lib/process/properties.js';
import { pyFormat, render, RenderError, type RenderContext } from '../../lib/process/render.js';
import { buildbot, requireBuildbotPython } from '../logs/buildbotPython.js';

const SOURCESTAMPS = [
  { codebase: '', branch: 'main', revision: 'abc123', repository: 'https://git/r', project: 'p', patch: null },
  { codebase: 'lib', branch: 'dev', revision: 'def456', repository: 'https://git/lib', project: 'p' },
];

function ctx(props: Record<string, unknown>, extra: Partial<RenderContext> = {}): RenderContext {
  return {
    properties: Properties.fromValues(props, 'Test'),
    sourcestamps: SOURCESTAMPS,
    secrets: (name) => ({ token: 's3cr3t', pw: 'hunter2' })[name],
    worker: { os: 'Linux', hostname: 'w1.example' },
    ...extra,
  };
}

async function renderError(value: unknown, c: RenderContext): Promise<Error> {
  try {
    await render(value, c);
  } catch (e) {
    return e as Error;
  }
  throw new Error('render did not fail');
}

const PROPS = { branch: 'main', empty: '', zero: 0, none: null, yes: true, list: [1, 'a'], num: 42 };

describe('render', function () {
  it('renders %(prop:x)s with the -, ~, +, ? and #? forms', async function () {
    const c = ctx(PROPS);
    const cases: [string, string][] = [
      ['%(prop:branch)s', 'main'],
      ['%(prop:missing)s', ''],
      ['%(prop:none)s', ''],
      ['%(prop:missing:-dflt)s', 'dflt'],
      ['%(prop:empty:-dflt)s', ''],
      ['%(prop:empty:~dflt)s', 'dflt'],
      ['%(prop:zero:~dflt)s', 'dflt'],
      ['%(prop:branch:~dflt)s', 'main'],
      ['%(prop:branch:+set)s|%(prop:missing:+set)s|%(prop:empty:+set)s', 'set||set'],
      ['%(prop:empty:?|yes|no)s %(prop:missing:?|yes|no)s', 'yes no'],
      ['%(prop:empty:#?|yes|no)s %(prop:branch:#?|yes|no)s', 'no yes'],
      ['%(prop:missing:-%(prop:branch)s-x)s', 'main-x'],
      ['%(prop:yes)s %(prop:list)s %(prop:num)05d %(prop:branch)-6s|', "True [1, 'a'] 00042 main  |"],
      ['100%% %(prop:branch)s', '100% main'],
    ];
    for (const [fmt, expected] of cases) expect(await render(new Interpolate(fmt), c), fmt).to.equal(expected);
  });

  it('renders %(src:codebase:attr)s, %(kw:x)s, %(worker:x)s and positional %s', async function () {
    const c = ctx(PROPS);
    expect(await render(new Interpolate('%(src::revision)s %(src:lib:branch)s %(src:nope:branch:-none)s'), c)).to.equal('abc123 dev none');
    expect(await render(new Interpolate('%(src::patch:-nopatch)s'), c)).to.equal('');
    expect(await render(new Interpolate('-j%(kw:jobs)s %(kw:missing:-1)s', { jobs: new Property('num') }), c)).to.equal('-j42 1');
    expect(await render(new Interpolate('%(worker:os)s/%(worker:arch:-x86_64)s'), c)).to.equal('Linux/x86_64');
    expect(await render(new Interpolate('%s-%s-%d', new Property('branch'), 'lit', 7.9), c)).to.equal('main-lit-7');
  });

  it('renders Property with default and defaultWhenFalse', async function () {
    const c = ctx(PROPS);
    expect(await render(new Property('branch'), c)).to.equal('main');
    expect(await render(new Property('num'), c)).to.equal(42);
    expect(await render(new Property('missing'), c)).to.equal(null);
    expect(await render(new Property('missing', 'd'), c)).to.equal('d');
    expect(await render(new Property('empty', 'd'), c)).to.equal('d');
    expect(await render(new Property('empty', 'd', { defaultWhenFalse: false }), c)).to.equal('');
    expect(await render(new Property('missing', new Interpolate('%(prop:branch)s!'), { defaultWhenFalse: false }), c)).to.equal('main!');
  });

  it('renders through arrays and plain objects, leaving other objects alone', async function () {
    const c = ctx(PROPS);
    const when = new Date(0);
    const out = await render(
      { command: ['make', new Interpolate('BRANCH=%(prop:branch)s')], env: { N: new Property('num') }, when, n: 3 },
      c,
    );
    expect(out).to.deep.equal({ command: ['make', 'BRANCH=main'], env: { N: 42 }, when, n: 3 });
    expect((out as { when: Date }).when).to.equal(when);
  });

  it('renders Transform with rendered arguments (sync or async functions)', async function () {
    const c = ctx(PROPS);
    expect(await render(new Transform((a: string, b: number) => `${a}:${b * 2}`, new Property('branch'), new Property('num')), c)).to.equal('main:84');
    expect(await render(new Transform(async (a: string) => a.toUpperCase(), new Property('branch')), c)).to.equal('MAIN');
  });

  it('renders secrets and records every value used; a missing secret is an error naming it', async function () {
    const used: [string, string][] = [];
    const c = ctx(PROPS, { onSecret: (n, v) => used.push([n, v]) });
    expect(await render(['curl -H "Auth: %(secret:token)s"', new Interpolate('-u me:%(secret:pw)s'), new Secret('token')], c)).to.deep.equal([
      'curl -H "Auth: %(secret:token)s"', // a plain string is not a format
      '-u me:hunter2',
      's3cr3t',
    ]);
    expect(used).to.deep.equal([
      ['pw', 'hunter2'],
      ['token', 's3cr3t'],
    ]);
    const e1 = await renderError(new Interpolate('%(secret:nope)s'), c);
    expect(e1).to.be.instanceOf(RenderError);
    expect(e1.message).to.equal("secret 'nope' is not found in any provider");
    const e2 = await renderError(new Secret('nope2'), ctx({}, { secrets: undefined }));
    expect(e2.message).to.match(/no secrets provider .* 'nope2'/);
    // A replacement that is not needed is not rendered: its secret is never looked up.
    expect(await render(new Interpolate('%(prop:branch:-%(secret:nope)s)s'), c)).to.equal('main');
  });

  it('reports bad format strings and argument counts', async function () {
    const c = ctx(PROPS);
    expect((await renderError(new Interpolate('%(bogus:x)s'), c)).message).to.match(/invalid Interpolate "%\(bogus:x\)s": .*selector 'bogus'/);
    expect((await renderError(new Interpolate('%s %s', 'one'), c)).message).to.match(/not enough arguments/);
    expect((await renderError(new Interpolate('%s', 'one', 'two'), c)).message).to.match(/not all arguments converted/);
    expect((await renderError(new Interpolate('%(prop:branch)d'), c)).message).to.match(/a number is required, not str/);
  });

  it('formats like Python %', function () {
    expect(pyFormat('s', null)).to.equal('None');
    expect(pyFormat('r', "it's")).to.equal('"it\'s"');
    expect(pyFormat('r', 'a\nb')).to.equal("'a\\nb'");
    expect(pyFormat('.2f', 3.14159)).to.equal('3.14');
    expect(pyFormat('x', 255)).to.equal('ff');
    expect(pyFormat('+d', 5)).to.equal('+5');
    expect(pyFormat('g', 0.0001)).to.equal('0.0001');
    expect(pyFormat('g', 1234567)).to.equal('1.23457e+06');
    expect(pyFormat('e', 12345.678)).to.equal('1.234568e+04');
    expect(pyFormat('s', { a: [true, null] })).to.equal("{'a': [True, None]}");
  });

  it('agrees with Buildbot 3.7 on Interpolate and Property (python cross-check)', async function () {
    requireBuildbotPython(this);
    const props = { ...PROPS, dict: { k: 'v' }, float: 2.5, neg: -3 };
    const fmts = [
      '%(prop:branch)s/%(prop:missing)s/%(prop:none)s',
      '%(prop:empty:-d)s|%(prop:empty:~d)s|%(prop:zero:~d)s|%(prop:none:-d)s|%(prop:none:~d)s',
      '%(prop:branch:+x)s|%(prop:none:+x)s|%(prop:missing:+x)s',
      '%(prop:zero:?|t|f)s %(prop:zero:#?|t|f)s %(prop:missing:?|t|f)s %(prop:list:#?:t:f)s',
      '%(prop:missing:-%(prop:branch)s-%(prop:num)s)s',
      // (Buildbot refuses numeric conversions such as %(prop:num)d at construction; we accept them.)
      '%(prop:yes)s %(prop:list)s %(prop:dict)s %(prop:float)s %(prop:neg)s %(prop:num)5s|%(prop:branch)-6s|%(prop:list)r',
      '%(src::revision)s %(src:lib:branch)s %(src:nope:branch:-none)s %(src::patch:-p)s',
      '%(kw:a)s %(kw:b:-dflt)s %(kw:c:#?|y|n)s',
      '%(prop:x:?|(a|b)|c)s %(prop:branch:?|(a|b)|c)s',
      '%% %%(prop:branch)s',
    ];
    const kwargs = { a: 'A', c: '' };
    const cases = fmts.map((fmt) => ({ fmt, kwargs, props, sourcestamps: SOURCESTAMPS }));
    const propCases = [
      { name: 'empty', default: 'd' },
      { name: 'empty', default: 'd', defaultWhenFalse: false },
      { name: 'missing' },
      { name: 'zero', default: 5 },
      { name: 'list' },
    ];
    const { results } = buildbot<{ results: { value?: unknown; error?: string }[] }>({
      op: 'interpolate',
      cases: [...cases, ...propCases.map((property) => ({ property, props }))],
    });
    const c = ctx(props);
    for (const [i, fmt] of fmts.entries()) {
      expect(results[i], fmt).to.deep.equal({ value: await render(new Interpolate(fmt, kwargs), c) });
    }
    for (const [k, p] of propCases.entries()) {
      const ours = await render(new Property(p.name, p.default, { defaultWhenFalse: p.defaultWhenFalse }), c);
      expect(results[fmts.length + k], JSON.stringify(p)).to.deep.equal({ value: ours });
    }
  });
});
