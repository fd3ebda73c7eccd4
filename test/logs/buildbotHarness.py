"""Runs Buildbot 3.7's own log code on request, for cross-checks from test/logs.

Reads one JSON request on stdin, writes one JSON answer on stdout. Binary values travel as
base64. Uses Buildbot's LogsConnectorComponent against a real sqlite file with Buildbot's own
logchunks table, with a synchronous stand-in for its thread pool.
"""
import base64
import json
import os
import sys
import tempfile
import zlib

import sqlalchemy as sa

from buildbot.db import logs as dblogs
from buildbot.db import model
from buildbot.util.lineboundaries import LineBoundaryFinder


class SyncPool:
    def __init__(self, engine):
        self.engine = engine

    def do(self, fn, *args, **kwargs):
        with self.engine.connect() as conn:
            return fn(conn, *args, **kwargs)


class Obj:
    pass


def connector(path, method):
    engine = sa.create_engine('sqlite:///' + path)
    model.Model.metadata.create_all(engine, tables=[model.Model.logs, model.Model.logchunks])
    comp = dblogs.LogsConnectorComponent.__new__(dblogs.LogsConnectorComponent)
    comp.db = Obj()
    comp.db.pool = SyncPool(engine)
    comp.db.model = model.Model
    comp.db.master = Obj()
    comp.db.master.config = Obj()
    comp.db.master.config.logCompressionMethod = method
    with engine.begin() as conn:
        conn.execute(model.Model.logs.insert(), dict(id=1, name='stdio', slug='stdio', stepid=1,
                                                     complete=0, num_lines=0, type='s'))
    return comp, engine


def dump_rows(engine):
    tbl = model.Model.logchunks
    with engine.connect() as conn:
        rows = conn.execute(sa.select([tbl.c.first_line, tbl.c.last_line, tbl.c.content,
                                       tbl.c.compressed]).order_by(tbl.c.first_line))
        return [dict(first_line=r.first_line, last_line=r.last_line,
                     content=base64.b64encode(r.content).decode(), compressed=r.compressed)
                for r in rows]


def main():
    req = json.load(sys.stdin)
    op = req['op']
    if op == 'lineboundaries':
        # Per case: each push is one append, then flush: the text Buildbot's StreamLog stores.
        texts = []
        for pushes in req['cases']:
            lbf = LineBoundaryFinder()
            out = ''
            for text in pushes:
                out += lbf.append(text) or ''
            out += lbf.flush() or ''
            texts.append(out)
        json.dump({'texts': texts}, sys.stdout)
        return
    if op == 'interpolate':
        # Render util.Interpolate / util.Property against plain properties and source stamps.
        from buildbot.process.properties import Interpolate, Properties, Property
        results = []
        for case in req['cases']:
            props = Properties()
            for k, v in case.get('props', {}).items():
                props.setProperty(k, v, 'Test')
            props.sourcestamps = case.get('sourcestamps', [])
            try:
                if 'property' in case:
                    p = case['property']
                    r = Property(p['name'], default=p.get('default'),
                                 defaultWhenFalse=p.get('defaultWhenFalse', True))
                else:
                    r = Interpolate(case['fmt'], *case.get('args', []), **case.get('kwargs', {}))
            except Exception as e:  # config errors are raised at construction
                results.append({'error': e.__class__.__name__})
                continue
            out = []
            d = props.render(r)
            d.addCallbacks(lambda v: out.append({'value': v}),
                           lambda f: out.append({'error': f.value.__class__.__name__}))
            results.append(out[0])
        json.dump({'results': results}, sys.stdout)
        return
    if op == 'zlib':
        data = '\n'.join(req['lines']).encode('utf-8')
        json.dump({'content': base64.b64encode(zlib.compress(data, 9)).decode()}, sys.stdout)
        return
    fd, path = tempfile.mkstemp(suffix='.sqlite')
    os.close(fd)
    try:
        comp, engine = connector(path, req.get('method', 'gz'))
        if op == 'append':
            # A list of batches; each batch is one appendLog call.
            for batch in req['batches']:
                comp.appendLog(1, '\n'.join(batch) + '\n')
            if req.get('compress'):
                comp.compressLog(1, force=req.get('force', False))
            json.dump({'rows': dump_rows(engine)}, sys.stdout)
        elif op == 'read':
            tbl = model.Model.logchunks
            with engine.begin() as conn:
                for r in req['rows']:
                    conn.execute(tbl.insert(), dict(logid=1, first_line=r['first_line'],
                                                    last_line=r['last_line'],
                                                    content=base64.b64decode(r['content']),
                                                    compressed=r['compressed']))
            text = comp.getLogLines(1, req['first'], req['last'])
            json.dump({'text': text}, sys.stdout)
        else:
            raise SystemExit('unknown op ' + op)
    finally:
        os.unlink(path)


main()
