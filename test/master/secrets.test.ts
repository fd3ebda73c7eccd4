import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { masterName } from '../../lib/master/identity.js';
import { secretsLookup } from '../../lib/master/secrets.js';
import { useTempDir } from '../support/tmp.js';

describe('master secrets and identity', function () {
  const tmp = useTempDir('bm-secrets-');

  it('looks secrets up in the config values first, then one file per secret (trailing newlines stripped)', async () => {
    const dir = join(tmp(), 'secrets');
    mkdirSync(dir);
    writeFileSync(join(dir, 'token'), 's3cr3t\r\n\n', { mode: 0o600 });
    writeFileSync(join(dir, 'shadowed'), 'from-file\n');
    writeFileSync(join(tmp(), 'outside'), 'nope\n');
    const lookup = secretsLookup({ values: { shadowed: 'from-config' }, dir });
    expect(await lookup('token')).to.equal('s3cr3t');
    expect(await lookup('shadowed')).to.equal('from-config');
    expect(await lookup('missing')).to.equal(undefined);
    for (const name of ['../outside', '..', 'a/b', '.']) expect(await lookup(name), name).to.equal(undefined);
    expect(await secretsLookup({ values: {} })('token')).to.equal(undefined);
  });

  it('names a master host:absolute-basedir, as Buildbot does', function () {
    expect(masterName('/srv/bm/../master', 'build1')).to.equal('build1:/srv/master');
  });
});
