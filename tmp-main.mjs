import { Worker } from 'node:worker_threads';
const api = import.meta.resolve('tsx/esm/api');
const entry = new URL('./tmp-entry.ts', import.meta.url).href;
for (const mode of ['eval', 'import']) {
const t0 = performance.now();
const w = mode === 'eval' ? new Worker(`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`, { eval: true })
  : new Worker(new URL(entry), { execArgv: ['--import', import.meta.resolve('tsx')] });
w.on('message', (m) => { console.log(mode, m, performance.now() - t0); w.terminate(); });
w.on('error', (e) => console.log(mode, 'err', e.message));
}
