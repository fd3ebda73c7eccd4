import { expect } from 'chai';
import { ChannelQueue, type Release } from '../../lib/workers/channelQueue.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('workers/channelQueue', () => {
  it('admits maxSessions-1 commands and keeps the last slot for control channels', async () => {
    const q = new ChannelQueue(3);
    const a = await q.acquire();
    const b = await q.acquire();
    let third: Release | undefined;
    void q.acquire().then((r) => (third = r));
    await tick();
    expect(third).to.equal(undefined);
    const ctl = await q.acquire({ control: true });
    expect(q.openChannels).to.equal(3);
    ctl();
    await tick();
    expect(third).to.equal(undefined); // the freed slot is the control slot
    a();
    await tick();
    expect(third).to.be.a('function');
    b();
    third!();
    expect(q.openChannels).to.equal(0);
  });

  it('a control request overtakes waiting commands', async () => {
    const q = new ChannelQueue(2);
    const a = await q.acquire();
    const order: string[] = [];
    void q.acquire().then(() => order.push('command'));
    const ctl = await q.acquire({ control: true });
    order.push('control');
    ctl();
    a();
    await tick();
    expect(order).to.deep.equal(['control', 'command']);
  });

  it('a limit of 1 keeps no reserve', async () => {
    const q = new ChannelQueue(1);
    const a = await q.acquire();
    expect(q.openChannels).to.equal(1);
    a();
  });

  it('an aborted waiter leaves the queue', async () => {
    const q = new ChannelQueue(2);
    const a = await q.acquire();
    const ac = new AbortController();
    const waiting = q.acquire({ signal: ac.signal });
    ac.abort(new Error('stop'));
    const err = await waiting.catch((e: Error) => e);
    expect((err as Error).message).to.equal('stop');
    a();
    expect(q.openChannels).to.equal(0);
  });

  it('learns a lower limit from a refusal, and forgets it on reset', async () => {
    const q = new ChannelQueue(10);
    expect(q.learnLimit(4)).to.equal(true);
    expect(q.effectiveLimit).to.equal(4);
    expect(q.learnLimit(0)).to.equal(false);
    expect(q.learnLimit(12)).to.equal(false);
    q.reset();
    expect(q.effectiveLimit).to.equal(10);
  });

  it('failAll rejects every waiter; release is idempotent', async () => {
    const q = new ChannelQueue(2);
    const a = await q.acquire();
    const w = q.acquire().catch((e: Error) => e.message);
    q.failAll(new Error('lost'));
    expect(await w).to.equal('lost');
    a();
    a();
    expect(q.openChannels).to.equal(0);
    expect(() => new ChannelQueue(0)).to.throw(RangeError);
  });
});
