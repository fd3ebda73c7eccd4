import { expect } from 'chai';
import { changeFilterMatches, resolveChangeFilter } from '../../lib/config/changeFilter.js';

const change = { project: 'app', repository: 'https://example/app.git', branch: 'main', category: null, codebase: '', properties: { env: 'prod' } };

describe('config/changeFilter', () => {
  it('matches equal values and lists', () => {
    expect(changeFilterMatches(resolveChangeFilter({ branch: ['main', 'dev'] }), change)).to.equal(true);
    expect(changeFilterMatches(resolveChangeFilter({ branch: 'dev' }), change)).to.equal(false);
    expect(changeFilterMatches(resolveChangeFilter({ project_not_eq: 'app' }), change)).to.equal(false);
  });

  it('treats a null branch as a value (the default branch)', () => {
    expect(changeFilterMatches(resolveChangeFilter({ branch: null }), { ...change, branch: null })).to.equal(true);
    expect(changeFilterMatches(resolveChangeFilter({ branch: null }), change)).to.equal(false);
  });

  it('anchors string regular expressions at the start, like re.match', () => {
    expect(changeFilterMatches(resolveChangeFilter({ branch_re: 'ma' }), change)).to.equal(true);
    expect(changeFilterMatches(resolveChangeFilter({ branch_re: 'in' }), change)).to.equal(false);
    expect(changeFilterMatches(resolveChangeFilter({ branch_re: /in/ }), change)).to.equal(true);
  });

  it('never matches None with _re and always with _not_re', () => {
    expect(changeFilterMatches(resolveChangeFilter({ category_re: '.*' }), change)).to.equal(false);
    expect(changeFilterMatches(resolveChangeFilter({ category_not_re: '.*' }), change)).to.equal(true);
  });

  it('applies filter_fn, X_fn and property filters together', () => {
    const seen: unknown[] = [];
    const f = resolveChangeFilter({
      filter_fn: (c) => (seen.push(c), true),
      repository_fn: (r) => r?.endsWith('.git') === true,
      property_eq: { env: ['prod', 'staging'] },
    });
    expect(changeFilterMatches(f, change)).to.equal(true);
    expect(seen).to.deep.equal([change]);
    expect(changeFilterMatches(f, { ...change, properties: { env: 'dev' } })).to.equal(false);
    expect(changeFilterMatches(resolveChangeFilter({ property_not_re: { env: 'pr' } }), change)).to.equal(false);
  });
});
