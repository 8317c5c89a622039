import { Worker } from 'node:worker_threads';
const url = new URL('./w2.ts', import.meta.url).href;
const code = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url)}); })`;
const w = new Worker(code, { eval: true, execArgv: [] });
w.on('message', (m) => { console.log('msg', m); void w.terminate(); });
w.on('error', (e) => console.log('err', e.message));
