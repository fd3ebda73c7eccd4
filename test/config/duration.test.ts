import { expect } from 'chai';
import { cronError, cronFieldError, fieldToCron, nightlyCron, timezoneError } from '../../lib/config/cron.js';
import { parseDuration } from '../../lib/config/duration.js';
import { closest } from '../../lib/config/suggest.js';

describe('config/duration', () => {
  it('parses seconds and unit strings', () => {
    expect(parseDuration(90)).to.equal(90);
    expect(parseDuration('90')).to.equal(90);
    expect(parseDuration('30d')).to.equal(2592000);
    expect(parseDuration('1h30m')).to.equal(5400);
    expect(parseDuration('2w')).to.equal(1209600);
    expect(parseDuration('1.5h')).to.equal(5400);
  });

  it('rejects anything else', () => {
    for (const bad of ['30 days', '1y', '', 'h', -1, Number.NaN, null, {}]) expect(parseDuration(bad), String(bad)).to.equal(undefined);
  });
});

describe('config/cron', () => {
  it('converts Buildbot fields (dayOfWeek 0 = Monday) to cron', () => {
    expect(fieldToCron(0, true)).to.equal('1');
    expect(fieldToCron(6, true)).to.equal('0');
    expect(fieldToCron('5,sun', true)).to.equal('6,sun');
    expect(fieldToCron([0, 30])).to.equal('0,30');
    expect(nightlyCron({ minute: 0, hour: 3, dayOfMonth: '*', month: '*', dayOfWeek: [0, 1, 2, 3, 4] })).to.equal('0 3 * * 1,2,3,4,5');
  });

  it('reports bad expressions, fields and time zones', () => {
    expect(cronError('0 3 * * *')).to.equal(undefined);
    expect(cronError('0 3 * *')).to.equal('expected 5 fields: minute hour day-of-month month day-of-week');
    expect(cronError('0 0 31 2 *')).to.equal('Invalid explicit day of month definition');
    expect(cronFieldError('minute', 60)).to.equal('Constraint error, got value 60 expected range 0-59');
    expect(cronFieldError('hour', '*/2')).to.equal(undefined);
    expect(timezoneError('Europe/Paris')).to.equal(undefined);
    expect(timezoneError('Nowhere/Land')).to.equal('unknown time zone "Nowhere/Land"');
  });
});

describe('config/suggest', () => {
  it('suggests the closest known name only when it is close', () => {
    expect(closest('wokernames', ['workernames', 'name', 'steps'])).to.equal('workernames');
    expect(closest('treeStabletimer', ['treeStableTimer', 'branch'])).to.equal('treeStableTimer');
    expect(closest('comand', ['command', 'env'])).to.equal('command');
    expect(closest('colour', ['name', 'steps'])).to.equal(undefined);
  });
});
