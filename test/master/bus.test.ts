import { expect } from 'chai';
import { MessageBus, keyMatches } from '../../lib/master/bus.js';

describe('MessageBus', function () {
  it('matches keys element by element with * wildcards', function () {
    expect(keyMatches(['builds', '*', 'finished'], ['builds', '3', 'finished'])).to.equal(true);
    expect(keyMatches(['builds', '*', 'finished'], ['builds', '3', 'new'])).to.equal(false);
    expect(keyMatches(['builds', '*'], ['builds', '3', 'new'])).to.equal(false);
    expect(keyMatches(['*', '*', '*'], ['steps', '9', 'started'])).to.equal(true);
  });

  it('delivers to matching subscribers only, and stops after unsubscribe', function () {
    const bus = new MessageBus();
    const seen: string[] = [];
    const off = bus.subscribe(['buildrequests', '*', 'complete'], (key) => seen.push(key.join('.')));
    bus.subscribe(['*', '*', 'new'], (key) => seen.push(`any:${key.join('.')}`));
    bus.publish(['buildrequests', '1', 'complete'], {});
    bus.publish(['buildrequests', '2', 'new'], {});
    off();
    bus.publish(['buildrequests', '3', 'complete'], {});
    expect(seen).to.deep.equal(['buildrequests.1.complete', 'any:buildrequests.2.new']);
  });

  it('waitFor resolves on the first event the predicate accepts and times out otherwise', async function () {
    const bus = new MessageBus();
    const waiting = bus.waitFor<{ n: number }>(['builds', '*', 'finished'], (m) => m.n === 2, 1000);
    bus.publish(['builds', '1', 'finished'], { n: 1 });
    bus.publish(['builds', '2', 'finished'], { n: 2 });
    expect((await waiting).key).to.deep.equal(['builds', '2', 'finished']);
    let error: Error | undefined;
    await bus.waitFor(['never'], () => true, 20).catch((e: Error) => (error = e));
    expect(error?.message).to.contain('timed out');
  });

  it('keeps publishing when a listener throws', function () {
    const errors: string[] = [];
    const bus = new MessageBus((err, key) => errors.push(`${key.join('.')}: ${(err as Error).message}`));
    let reached = false;
    bus.subscribe(['x'], () => {
      throw new Error('boom');
    });
    bus.subscribe(['x'], () => (reached = true));
    bus.publish(['x'], null);
    expect(reached).to.equal(true);
    expect(errors).to.deep.equal(['x: boom']);
  });
});
