#!/usr/bin/python3
"""Runs the real Buildbot 3.7 (Debian package) in a temp dir and records its /api/v2 answers.

Usage: buildbotRecord.py OUTDIR
Writes OUTDIR/answers.json ({"ids": {...}, "answers": [{path, status, type, disposition, body}]})
and OUTDIR/state.sqlite, a consistent copy of Buildbot's DB taken while it ran, at the moment of
the answers. Standard library only; every process it starts is stopped by PID, also on error.

The master has one local worker, a PBChangeSource (a `buildbot sendchange` starts a build), a
force scheduler, a builder with several steps and log types (stdio, a text and an HTML log, URLs,
a property), and a builder whose build fails. The web server needs the buildbot-www plugin,
which Debian does not package: a stand-in package (as shared/bench/buildbot/bench.py) provides
an empty UI; /api/v2 is Buildbot's own.
"""

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

BUILDBOT = '/usr/bin/buildbot'
BUILDBOT_WORKER = '/usr/bin/buildbot-worker'
HOST = '127.0.0.1'

MASTER_CFG = r'''
from buildbot.plugins import util, worker, schedulers, steps, changes
from buildbot.process.buildstep import BuildStep
from buildbot.process.results import WARNINGS
from twisted.internet import defer


class Report(BuildStep):
    """Adds a text and an HTML log, a URL and a property, and ends with WARNINGS."""
    name = 'report'

    @defer.inlineCallbacks
    def run(self):
        yield self.addCompleteLog('summary.txt', 'first line\nsecond \u00fcn\u00efcode line \u2713\nthird line\n')
        yield self.addHTMLLog('summary.html', '<b>3 passed</b>')
        yield self.addURL('details', 'https://example.org/details/1')
        self.setProperty('tests_passed', 3, 'Report')
        self.descriptionDone = ['reported']
        return WARNINGS


c = BuildmasterConfig = {}
c['workers'] = [worker.Worker('w1', 'pass', max_builds=1)]
c['protocols'] = {'pb': {'port': 'tcp:%(pb_port)d:interface=127.0.0.1'}}
c['change_source'] = [changes.PBChangeSource(user='change', passwd='changepw')]
c['collapseRequests'] = False

runtests = util.BuildFactory()
runtests.addStep(steps.ShellCommand(
    name='compile', command=['sh', '-c', 'echo compiling; echo "warning: careful" >&2; printf "done\\n"']))
runtests.addStep(Report())
runtests.addStep(steps.ShellCommand(name='test', command=['sh', '-c', 'for i in 1 2 3; do echo "test $i ok"; done']))
# ~120 kB of output: several log chunks, compressed; a CR LF line, a tab, non-ASCII text.
runtests.addStep(steps.ShellCommand(name='big', command=[
    'sh', '-c', 'seq 1 4000 | sed "s/^/output line /"; printf "crlf\\r\\ntab\\there \u00e9\\n"; seq 1 50 >&2']))

failing = util.BuildFactory()
failing.addStep(steps.ShellCommand(
    name='compile', haltOnFailure=True, command=['sh', '-c', 'echo compiling; echo "error: it broke" >&2; exit 1']))
failing.addStep(steps.ShellCommand(name='never', command=['true']))

c['builders'] = [
    util.BuilderConfig(name='runtests', workernames=['w1'], factory=runtests,
                       tags=['ci', 'linux'], description='Runs the tests'),
    util.BuilderConfig(name='failing', workernames=['w1'], factory=failing),
]
c['schedulers'] = [
    schedulers.SingleBranchScheduler(name='main', change_filter=util.ChangeFilter(branch='main'),
                                     treeStableTimer=None, builderNames=['runtests']),
    schedulers.ForceScheduler(name='force', builderNames=['runtests', 'failing']),
]
c['title'] = 'compat'
c['buildbotURL'] = 'http://127.0.0.1:%(www_port)d/'
c['www'] = dict(port='tcp:%(www_port)d:interface=127.0.0.1', plugins={})
c['db'] = {'db_url': 'sqlite:///state.sqlite'}
c['buildbotNetUsageData'] = None
'''


def log(*a):
    print('[buildbotRecord %s]' % time.strftime('%H:%M:%S'), *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_www_shim(root):
    """The 'base' entry point of group 'buildbot.www' that buildbot-www would provide."""
    shim = os.path.join(root, 'www_shim')
    pkg = os.path.join(shim, 'buildbot_www')
    os.makedirs(os.path.join(pkg, 'static'))
    os.makedirs(os.path.join(shim, 'buildbot_www.egg-info'))
    files = {
        os.path.join(pkg, '__init__.py'):
            'from buildbot.www.plugin import Application\n'
            'ep = Application(__name__, "Buildbot UI stand-in (no assets)")\n',
        os.path.join(pkg, 'VERSION'): '3.7.0\n',
        os.path.join(pkg, 'static', 'index.html'): '<html><body>stand-in</body></html>\n',
        os.path.join(shim, 'buildbot_www.egg-info', 'PKG-INFO'):
            'Metadata-Version: 1.1\nName: buildbot-www\nVersion: 3.7.0\n',
        os.path.join(shim, 'buildbot_www.egg-info', 'entry_points.txt'):
            '[buildbot.www]\nbase = buildbot_www:ep\n',
    }
    for path, text in files.items():
        with open(path, 'w') as f:
            f.write(text)
    return shim


class Client:
    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None, headers=None):
        h = {'Accept': 'application/json'}
        h.update(headers or {})
        c = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            c.close()

    def get(self, path):
        st, _, data = self.request('GET', '/api/v2/' + path)
        if st != 200:
            raise RuntimeError('GET %s -> %s %r' % (path, st, data[:300]))
        return json.loads(data)


class Buildbot:
    def __init__(self, root):
        self.root = root
        self.master_dir = os.path.join(root, 'master')
        self.worker_dir = os.path.join(root, 'worker')
        self.www_port = free_port()
        self.pb_port = free_port()
        base = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': root, 'LANG': 'C.UTF-8', 'TZ': 'UTC'}
        self.master_env = dict(base, PYTHONPATH=make_www_shim(root))
        self.worker_env = base
        self.procs = []
        self.client = Client(self.www_port)

    def spawn(self, name, argv, env):
        out = open(os.path.join(self.root, name + '.out'), 'wb')
        p = subprocess.Popen(argv, cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.procs.append((name, p))
        return p

    def stop_all(self):
        for name, p in reversed(self.procs):  # the worker first, then the master
            if p.poll() is not None:
                continue
            os.kill(p.pid, signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                log('%s (pid %d) ignored SIGTERM; SIGKILL' % (name, p.pid))
                os.kill(p.pid, signal.SIGKILL)
                p.wait()

    def wait(self, what, predicate, timeout=60):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            for name, p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError('%s exited rc=%s; see %s.out' % (name, p.returncode, name))
            try:
                if predicate():
                    return
            except (OSError, http.client.HTTPException, RuntimeError):
                pass
            time.sleep(0.1)
        raise RuntimeError('timed out waiting for %s' % what)

    def start(self):
        subprocess.run([BUILDBOT, 'create-master', '-q', self.master_dir], cwd=self.root,
                       env=self.master_env, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(self.master_dir, 'master.cfg'), 'w') as f:
            f.write(MASTER_CFG % dict(pb_port=self.pb_port, www_port=self.www_port))
        self.spawn('master', [BUILDBOT, 'start', '--nodaemon', self.master_dir], self.master_env)
        self.wait('the REST API', lambda: self.client.get('builders') is not None)
        subprocess.run([BUILDBOT_WORKER, 'create-worker', '-q', self.worker_dir,
                        '%s:%d' % (HOST, self.pb_port), 'w1', 'pass'],
                       cwd=self.root, env=self.worker_env, check=True, stdout=subprocess.DEVNULL)
        self.spawn('worker', [BUILDBOT_WORKER, 'start', '--nodaemon', self.worker_dir], self.worker_env)
        self.wait('the worker', lambda: self.client.get('workers')['workers'][0]['connected_to'])

    def sendchange(self):
        subprocess.run([BUILDBOT, 'sendchange', '-m', '%s:%d' % (HOST, self.pb_port), '-a', 'change:changepw',
                        '-W', 'Alice <alice@example.org>', '-R', 'https://example.org/repo.git', '-b', 'main',
                        '-r', '0123456789abcdef', '-c', 'Fix the build \u2713\n\nLong body.', '-p', 'ticket:42',
                        '-l', 'https://example.org/repo/commit/0123456789abcdef', '-w', '1700000000',
                        'src/a.c', 'README'],
                       cwd=self.root, env=self.master_env, check=True, stdout=subprocess.DEVNULL)
        # A second change on a branch no scheduler watches: no build, but /changes has two rows.
        subprocess.run([BUILDBOT, 'sendchange', '-m', '%s:%d' % (HOST, self.pb_port), '-a', 'change:changepw',
                        '-W', 'bob', '-R', 'https://example.org/repo.git', '-b', 'feature', '-r', 'fedcba9876543210',
                        '-c', 'Try something', '-C', 'experiment', '-w', '1700000100', 'src/b.c'],
                       cwd=self.root, env=self.master_env, check=True, stdout=subprocess.DEVNULL)

    def force(self, builder, reason):
        body = json.dumps({'jsonrpc': '2.0', 'method': 'force', 'id': 1,
                           'params': {'builderNames': [builder], 'reason': reason}})
        st, _, data = self.client.request('POST', '/api/v2/forceschedulers/force', body=body,
                                          headers={'Content-Type': 'application/json'})
        if st != 200 or 'result' not in json.loads(data):
            raise RuntimeError('force %s -> %s %r' % (builder, st, data[:300]))

    def idle_with(self, nbuilds):
        builds = self.client.get('builds')['builds']
        pending = self.client.get('buildrequests?complete=false')['buildrequests']
        return len(builds) == nbuilds and all(b['complete'] for b in builds) and not pending

    def snapshot(self, dest):
        """A consistent copy of the live DB (sqlite's backup API sees committed WAL content)."""
        if os.path.exists(dest):
            os.unlink(dest)
        src = sqlite3.connect('file:%s?mode=ro' % os.path.join(self.master_dir, 'state.sqlite'), uri=True, timeout=30)
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()


def paths_to_ask(c):
    """The requests, with ids discovered from Buildbot's own answers."""
    builds = c.get('builds?order=buildid')['builds']
    by_builder = {b['name']: b['builderid'] for b in c.get('builders')['builders']}
    ok = next(b for b in builds if b['builderid'] == by_builder['runtests'])
    bad = next(b for b in builds if b['builderid'] == by_builder['failing'])
    ids = {'builders': by_builder, 'ok_build': ok['buildid'], 'failed_build': bad['buildid']}
    p = [
        '', 'application.spec', 'logchunks', 'builders', 'builders/%d' % by_builder['runtests'], 'builders/runtests',
        'builders?order=-builderid&field=name&field=builderid', 'builders?name=failing',
        'builds', 'builds?order=-buildid&limit=2', 'builds?results=2', 'builds?results__ne=0&field=buildid&field=results',
        'builds?field=buildid&field=number&field=complete_at&field=state_string', 'builds?complete=true&offset=1&limit=1',
        'builds/%d' % ok['buildid'], 'builds/%d?property=*' % ok['buildid'], 'builds/%d?property=tests_passed' % ok['buildid'],
        'builds/%d' % bad['buildid'], 'builders/%d/builds' % by_builder['runtests'],
        'builders/%d/builds/%d' % (by_builder['runtests'], ok['number']), 'builders/runtests/builds?order=-number',
        'builds/%d/properties' % ok['buildid'], 'builds/%d/changes' % ok['buildid'],
        'builds/%d/property_list' % ok['buildid'], 'builds/%d/property_list?name=tests_passed' % ok['buildid'],
        'changes', 'changes?order=-changeid&limit=1', 'changes?order=changeid&limit=1', 'changes?branch=feature',
        'changes?order=-changeid', 'changes?field=changeid&field=author&field=files',
        'buildrequests', 'buildrequests?complete=true&field=buildrequestid&field=results&field=complete',
        'buildrequests?order=-buildrequestid&limit=1', 'buildrequests?builderid=%d' % by_builder['failing'],
        'buildsets', 'buildsets?order=-bsid&limit=2', 'sourcestamps',
        'workers', 'workers/w1', 'workers?field=name&field=connected_to',
        'masters', 'masters/1',
        # more of the query syntax
        'builds?buildid__gt=1', 'builds?results__in=0&results__in=2', 'builds?results=0&results=1',
        'builds?state_string__contains=fail', 'builds?order=-complete_at&order=buildid', 'builds?limit=0',
        'builds?offset=2', 'builds/%d?field=buildid&field=results' % ok['buildid'], 'builds?property=owner',
        'builds?property=*&field=buildid&field=properties&limit=1', 'builds?workerid=1&complete=yes',
        'builds?field=nosuch', 'builds?results__nosuch=1', 'builds?order=nosuch', 'builds?limit=-1',
        'buildrequests?property=*', 'buildrequests/1?property=scheduler', 'buildrequests?claimed=true&order=-priority',
        'buildrequests?buildsetid=2', 'buildsets?complete=true&field=bsid&field=reason', 'buildsets?reason__contains=fail',
        'changes?author__contains=Alice', 'changes?order=when_timestamp&field=changeid&field=when_timestamp',
        'builders?tags__contains=ci', 'builders?order=name', 'builders/%d/workers' % by_builder['runtests'],
        'builders/%d/masters' % by_builder['runtests'], 'masters/1/builders', 'masters/1/workers',
        'workers?paused=false', 'workers?name=w1&field=workerid', 'sourcestamps/1', 'sourcestamps/1/changes',
        'sourcestamps?branch=main', 'schedulers', 'schedulers?order=-name', 'changesources', 'masters/1/schedulers',
        'builds/%d/data' % ok['buildid'], 'builds/%d/test_result_sets' % ok['buildid'],
        'builders/%d/builds/%d/changes' % (by_builder['runtests'], ok['number']),
        'builds/%d/steps?results__ne=0' % ok['buildid'], 'builds/%d/steps?order=-number&limit=2' % ok['buildid'],
        # without Accept: application/json Buildbot answers indented text/plain
        'plain:builds/%d' % ok['buildid'], 'plain:builders?order=builderid', 'plain:changes', 'plain:builds/987654',
        'builds/987654', 'builds?nosuch=1', 'builds?limit=x', 'nosuch',
    ]
    for b in builds:
        p.append('builds/%d/steps' % b['buildid'])
        p.append('buildrequests/%d' % b['buildrequestid'])
        p.append('buildrequests/%d/builds' % b['buildrequestid'])
    for bs in c.get('buildsets')['buildsets']:
        p += ['buildsets/%d' % bs['bsid'], 'buildsets/%d/properties' % bs['bsid'],
              'buildsets/%d/properties_list' % bs['bsid']]
    for ch in c.get('changes')['changes']:
        p += ['changes/%d' % ch['changeid'], 'changes/%d/properties_list' % ch['changeid']]
    p += ['workers/%d' % w['workerid'] for w in c.get('workers')['workers']]
    ok_steps = c.get('builds/%d/steps' % ok['buildid'])['steps']
    p += ['builds/%d/steps/compile' % ok['buildid'], 'builds/%d/steps/1' % ok['buildid'],
          'builds/%d/steps?field=name&field=results&field=urls' % ok['buildid']]
    for b in builds:
        for s in c.get('builds/%d/steps' % b['buildid'])['steps']:
            p += ['steps/%d' % s['stepid'], 'steps/%d/logs' % s['stepid']]
            for lg in c.get('steps/%d/logs' % s['stepid'])['logs']:
                lid = lg['logid']
                p += ['logs/%d' % lid, 'logs/%d/contents' % lid, 'logs/%d/raw' % lid,
                      'steps/%d/logs/%s' % (s['stepid'], lg['slug'])]
    first = next(s for s in ok_steps if s['name'] == 'compile')
    first_log = c.get('steps/%d/logs' % first['stepid'])['logs'][0]
    big = next(s for s in ok_steps if s['name'] == 'big')
    big_log = c.get('steps/%d/logs' % big['stepid'])['logs'][0]['logid']
    p += ['logs/%d/contents?offset=2000&limit=10' % big_log, 'logs/%d/contents?offset=4000' % big_log,
          'logs/%d/contents?offset=3990&limit=100' % big_log, 'logs/%d/contents?offset=99999' % big_log]
    p += ['logs/%d/contents?offset=1&limit=2' % first_log['logid'],
          'builds/%d/steps/%d/logs/%s/contents' % (ok['buildid'], first['number'], first_log['slug']),
          'builders/%d/builds/%d/steps/compile/logs/stdio/raw' % (by_builder['runtests'], ok['number']),
          'builders/%d/builds/%d/steps/compile/logs/stdio/contents?offset=3&limit=2' % (by_builder['runtests'], ok['number']),
          'steps/%d/logs/stdio/raw' % first['stepid'], 'logs/%d/contents?offset=2' % first_log['logid'],
          'logs/%d/contents?limit=1' % first_log['logid'], 'steps/%d/logs?order=-logid' % first['stepid'],
          'builders/runtests/builds/%d/steps/compile/logs/stdio' % ok['number'],
          'builders/runtests/builds/%d/steps/compile/logs/stdio/raw' % ok['number']]
    return ids, p


def record(c, paths):
    out = []
    for path in paths:
        plain = path.startswith('plain:')
        st, headers, data = c.request('GET', '/api/v2/' + path[6:] if plain else '/api/v2/' + path,
                                      headers={'Accept': '*/*'} if plain else None)
        ctype = headers.get('content-type', '')
        body = json.loads(data) if ctype.startswith('application/json') and not plain else data.decode('utf-8')
        out.append({'path': path, 'status': st, 'type': ctype, 'disposition': headers.get('content-disposition'),
                    'body': body, 'text': data.decode('utf-8')})
    return out


def main():
    # A SIGTERM (the test's timeout) unwinds through the finally below, which stops Buildbot's processes.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit('terminated by signal %d' % signum))
    outdir = sys.argv[1]
    bb = Buildbot(outdir)
    try:
        bb.start()
        bb.sendchange()
        bb.wait('the change build', lambda: bb.idle_with(1))
        bb.force('runtests', 'forced by the compat test')
        bb.wait('the forced build', lambda: bb.idle_with(2))
        bb.force('failing', 'must fail')
        bb.wait('the failing build', lambda: bb.idle_with(3))
        ids, paths = paths_to_ask(bb.client)
        # The master's heartbeat may change the DB between the answers and the copy: retry then.
        for _ in range(3):
            answers = record(bb.client, paths)
            bb.snapshot(os.path.join(outdir, 'state.sqlite'))
            if record(bb.client, paths) == answers:
                break
        else:
            raise RuntimeError('the answers kept changing')
        with open(os.path.join(outdir, 'answers.json'), 'w') as f:
            json.dump({'ids': ids, 'answers': answers}, f, indent=1, ensure_ascii=False)
    finally:
        bb.stop_all()
    log('recorded %d answers' % len(answers))


if __name__ == '__main__':
    main()
