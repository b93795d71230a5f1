// TypeScript calling a Python task by name, and its own TypeScript task:
//   node --import tsx examples/producer.ts
import { app, render } from './tasks.js';

const python = await app.sendTask('training.tasks.train_hourly_batch_task', [], { model: 'v2' }, { queue: 'training_batch' });
console.log('sent training.tasks.train_hourly_batch_task', python.id);

const report = await render.applyAsync([42], { format: 'csv' });
console.log('reports.render →', await report.get({ timeout: 30 }));
await app.close();
