import { expect } from 'chai';
import { indexSource } from '../../lib/config/locate.js';

describe('config/locate', () => {
  it('maps keys and array elements of the exported literal to positions', () => {
    const src = [
      "import { defineConfig, steps } from 'buildmaster';", // 1
      '// { not: [code] }', // 2
      'export default defineConfig({', // 3
      "  title: `a ${'}'} b`,", // 4
      '  builders: [', // 5
      '    {', // 6
      "      name: 'b', 'work-dir': '/x', re: /[}\\]]/g,", // 7
      "      steps: [new steps.ShellCommand({ command: ['a', 'b'] }), 'x'],", // 8
      '      nextWorker: (b, ws) => { return ws[0]; },', // 9
      '      locks,', // 10
      '    },', // 11
      '  ],', // 12
      '});', // 13
    ].join('\n');
    const idx = indexSource(src);
    expect(idx.at('title')).to.deep.equal({ line: 4, column: 3 });
    expect(idx.at('builders[0]')).to.deep.equal({ line: 6, column: 5 });
    expect(idx.at('builders[0].name')).to.deep.equal({ line: 7, column: 7 });
    expect(idx.at('builders[0]["work-dir"]')).to.deep.equal({ line: 7, column: 18 });
    expect(idx.at('builders[0].re')).to.deep.equal({ line: 7, column: 36 });
    expect(idx.at('builders[0].steps[0]')).to.deep.equal({ line: 8, column: 15 });
    expect(idx.at('builders[0].steps[0].command[1]')).to.deep.equal({ line: 8, column: 55 });
    expect(idx.at('builders[0].steps[1]')).to.deep.equal({ line: 8, column: 64 });
    expect(idx.at('builders[0].nextWorker')).to.deep.equal({ line: 9, column: 7 });
    expect(idx.at('builders[0].locks')).to.deep.equal({ line: 10, column: 7 });
    expect(idx.at('not')).to.equal(undefined);
  });

  it('follows a named const and leaves computed parts out', () => {
    const src = [
      'const base = { steps: [] };', // 1
      'const config: MasterConfig = {', // 2
      '  workers: [...others, { name: "w" }],', // 3
      "  builders: ['a', 'b'].map((n) => ({ name: n })),", // 4
      '  schedulers: [{ name: "s" }] as const,', // 5
      '} satisfies MasterConfig;', // 6
      'export default config;', // 7
    ].join('\n');
    const idx = indexSource(src);
    expect(idx.at('workers')).to.deep.equal({ line: 3, column: 3 });
    expect(idx.at('workers[0]')).to.equal(undefined);
    expect(idx.at('builders')).to.deep.equal({ line: 4, column: 3 });
    expect(idx.at('builders[0]')).to.equal(undefined);
    expect(idx.at('schedulers[0].name')).to.deep.equal({ line: 5, column: 18 });
  });

  it('finds unique literals and keys, and nothing when they repeat', () => {
    const idx = indexSource("export default { a: 'x', b: 'y', c: { a: 'y' } };\n");
    expect(idx.literal('x')).to.deep.equal({ line: 1, column: 21 });
    expect(idx.literal('y')).to.equal(undefined);
    expect(idx.key('b')).to.deep.equal({ line: 1, column: 26 });
    expect(idx.key('a')).to.equal(undefined);
  });

  it('survives source it cannot follow', () => {
    const idx = indexSource('export default (((');
    expect(idx.at('title')).to.equal(undefined);
  });
});
