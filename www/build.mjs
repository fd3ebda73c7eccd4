// Bundles the web UI (www/src) into dist/www: hashed assets under assets/ and an index.html that
// names them. Run by `npm run build` and `prepare` after tsc; `--watch` rebuilds on change.
import { build, context } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'www');
const watch = process.argv.includes('--watch');

const options = {
  entryPoints: { app: join(here, 'src', 'main.ts') },
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: !watch,
  sourcemap: true,
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
  plugins: [{ name: 'index-html', setup: (b) => b.onEnd((r) => (r.errors.length ? undefined : writeIndex(r.metafile))) }],
};

async function writeIndex(metafile) {
  const outputs = Object.keys(metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => /^app-.*\.js$/.test(f));
  const css = outputs.find((f) => /^app-.*\.css$/.test(f));
  const template = await readFile(join(here, 'index.html'), 'utf8');
  const html = template
    .replace('<!-- css -->', css ? `<link rel="stylesheet" href="/assets/${css}">` : '')
    .replace('<!-- js -->', `<script type="module" src="/assets/${js}"></script>`);
  await writeFile(join(out, 'index.html'), html);
}

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });
if (watch) {
  const ctx = await context(options);
  await ctx.watch();
  console.log(`watching www/src → ${out}`);
} else {
  await build(options);
}
