import { expect } from 'chai';
import { BuildmasterError } from '../../lib/errors/index.js';
import { DEFAULT_DB_URL, describeTarget, parseDbUrl, redactUrl } from '../../lib/db/url.js';
import { forEachDialect } from '../support/databases.js';

function parseError(url: string): BuildmasterError {
  try {
    parseDbUrl(url, '/srv/master');
  } catch (err) {
    expect(err).to.be.instanceOf(BuildmasterError);
    expect((err as BuildmasterError).userError).to.equal(true);
    return err as BuildmasterError;
  }
  return expect.fail(`${url} parsed`);
}

describe('parseDbUrl', () => {
  it('reads Buildbot\'s default, relative to the master directory', () => {
    expect(DEFAULT_DB_URL).to.equal('sqlite:///state.sqlite');
    expect(parseDbUrl(DEFAULT_DB_URL, '/srv/master')).to.deep.equal({ dialect: 'sqlite', path: '/srv/master/state.sqlite' });
    expect(parseDbUrl('sqlite:///db/state.sqlite', '/srv/master')).to.deep.equal({ dialect: 'sqlite', path: '/srv/master/db/state.sqlite' });
  });

  it('reads an absolute sqlite path (four slashes) and ignores Buildbot\'s serialize_access', () => {
    expect(parseDbUrl('sqlite:////var/lib/bb/state.sqlite?serialize_access=1', '/srv/master'))
      .to.deep.equal({ dialect: 'sqlite', path: '/var/lib/bb/state.sqlite' });
    expect(parseDbUrl('sqlite:////tmp/with%20space.sqlite', '/x')).to.deep.equal({ dialect: 'sqlite', path: '/tmp/with space.sqlite' });
  });

  it('reads MySQL URLs, Buildbot\'s driver-qualified forms and MariaDB\'s name', () => {
    const expected = { dialect: 'mysql', host: 'db.example.org', port: 3307, user: 'bb', password: 'p@ss:word', database: 'buildbot' };
    expect(parseDbUrl('mysql://bb:p%40ss%3Aword@db.example.org:3307/buildbot', '/')).to.deep.equal(expected);
    expect(parseDbUrl('mysql+mysqldb://bb:p%40ss%3Aword@db.example.org:3307/buildbot', '/')).to.deep.equal(expected);
    expect(parseDbUrl('mariadb://bb:p%40ss%3Aword@db.example.org:3307/buildbot', '/')).to.deep.equal(expected);
    expect(parseDbUrl('mysql://bb@localhost/buildbot', '/')).to.include({ host: 'localhost', port: 3306, password: '' });
  });

  it('reads max_idle, pool_size and unix_socket, and accepts Buildbot\'s other MySQL options', () => {
    expect(parseDbUrl('mysql://bb:x@h/db?max_idle=300&pool_size=4&unix_socket=/run/mysqld/mysqld.sock&storage_engine=InnoDB&charset=utf8', '/'))
      .to.include({ maxIdleSeconds: 300, poolSize: 4, socketPath: '/run/mysqld/mysqld.sock' });
  });

  it('explains what is wrong with a bad URL, without the password', () => {
    expect(parseError('postgresql://u:secret@h/db').message).to.equal('invalid database URL postgresql://u:***@h/db: unsupported database "postgresql" (use sqlite or mysql)');
    expect(parseError('state.sqlite').message).to.match(/expected sqlite:\/\/\/FILE/);
    expect(parseError('sqlite://').message).to.match(/in-memory sqlite is not supported/);
    expect(parseError('sqlite://host/state.sqlite').message).to.match(/sqlite URLs have no host/);
    expect(parseError('mysql://u:secret@h/').message).to.match(/database name is missing/);
    expect(parseError('mysql://h/db').message).to.match(/user name is missing/);
    expect(parseError('mysql://u:secret@h/db?pool=3').message).to.equal('invalid database URL mysql://u:***@h/db?pool=3: unknown option "pool" (known: storage_engine, charset, use_unicode, max_idle, unix_socket, pool_size)');
    expect(parseError('mysql://u:secret@h/db?max_idle=soon').message).to.match(/max_idle must be a positive integer/);
  });

  it('describes and redacts targets for messages', () => {
    expect(redactUrl('mysql://bb:secret@h:1/db')).to.equal('mysql://bb:***@h:1/db');
    expect(redactUrl('sqlite:///state.sqlite')).to.equal('sqlite:///state.sqlite');
    expect(describeTarget(parseDbUrl('mysql://bb:secret@h:1/db', '/'))).to.equal('mysql bb@h:1/db');
    expect(describeTarget(parseDbUrl(DEFAULT_DB_URL, '/m'))).to.equal('sqlite /m/state.sqlite');
  });
});

forEachDialect('database URLs', (h) => {
  it('opens what the URL names', async () => {
    const db = await h.connect();
    expect(db.target).to.deep.equal(parseDbUrl(h.url(), h.basedir()));
    expect(db.description).to.equal(describeTarget(db.target));
    expect(db.description).not.to.contain('bmtestpw');
  });
});
