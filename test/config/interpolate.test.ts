import { expect } from 'chai';
import { interpolateErrors, parseInterpolate } from '../../lib/config/interpolate.js';

describe('config/interpolate', () => {
  it('parses text, substitutions and %% like Python %-formatting', () => {
    const { parts, errors } = parseInterpolate('rev %(src::revision)s on %(prop:branch:-main)s, 100%%');
    expect(errors).to.deep.equal([]);
    expect(parts).to.deep.equal([
      { type: 'text', text: 'rev ' },
      { type: 'substitution', spec: 's', sub: { key: 'src::revision', selector: 'src', codebase: '', name: 'revision', op: '-', replacement: '' } },
      { type: 'text', text: ' on ' },
      { type: 'substitution', spec: 's', sub: { key: 'prop:branch:-main', selector: 'prop', name: 'branch', op: '-', replacement: 'main' } },
      { type: 'text', text: ', 100%' },
    ]);
  });

  it('parses the ternary forms, with nested parentheses', () => {
    const { parts } = parseInterpolate('%(prop:release:#?|(yes)|no)s');
    expect(parts[0]).to.deep.include({
      sub: { key: 'prop:release:#?|(yes)|no', selector: 'prop', name: 'release', op: '#?', truePart: '(yes)', falsePart: 'no' },
    });
    expect(parseInterpolate('%(kw:x:~dflt)s %(secret:tok)s %(worker:os:+win)s').parts.filter((p) => p.type === 'substitution').map((p) => p.type === 'substitution' && [p.sub.selector, p.sub.op])).to.deep.equal([
      ['kw', '~'],
      ['secret', '-'],
      ['worker', '+'],
    ]);
  });

  it('accepts positional substitutions', () => {
    expect(parseInterpolate('%s-%d').parts).to.deep.equal([
      { type: 'positional', spec: 's' },
      { type: 'text', text: '-' },
      { type: 'positional', spec: 'd' },
    ]);
  });

  it('reports what Buildbot rejects', () => {
    expect(interpolateErrors('%(prop)s')).to.deep.equal(["invalid substitution without selector 'prop'"]);
    expect(interpolateErrors('%(foo:x)s')).to.deep.equal(["invalid selector 'foo' (expected one of prop, src, kw, secret, worker)"]);
    expect(interpolateErrors('%(src:x)s')).to.deep.equal(["must specify both codebase and attribute for src Interpolation 'x'"]);
    expect(interpolateErrors('%(prop:x:!y)s')).to.deep.equal(["invalid default type '!' in 'prop:x:!y'"]);
    expect(interpolateErrors('%(prop:x:?(a)(b))s')).to.deep.equal(["invalid ternary delimiter '('"]);
    expect(interpolateErrors('%(prop:a b)s')).to.deep.equal(["property name must be alphanumeric in 'prop:a b'"]);
    expect(interpolateErrors('%(prop:x')).to.deep.equal(['unbalanced parenthesis in "%(prop:x"']);
    expect(interpolateErrors('50%')).to.deep.equal(['incomplete format after "%" in "50%"']);
    expect(interpolateErrors('%s %(prop:x)s')).to.deep.equal(['mixes %s and %(...)s substitutions in "%s %(prop:x)s"']);
    // Replacements are format strings too.
    expect(interpolateErrors('%(prop:x:-%(bad:y)s)s')).to.deep.equal(["invalid selector 'bad' (expected one of prop, src, kw, secret, worker)"]);
  });
});
