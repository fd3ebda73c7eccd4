import type { Sequelize } from 'sequelize';
import { col, defineTable } from './columns.js';

export interface WorkerRow {
  id: number;
  name: string;
  /** JSON object (the REST API's `workerinfo`). */
  info: string;
  paused: number;
  graceful: number;
}

/** A worker configured for a builder on a master (through builder_masters). */
export interface ConfiguredWorkerRow {
  id: number;
  buildermasterid: number;
  workerid: number;
}

export interface ConnectedWorkerRow {
  id: number;
  masterid: number;
  workerid: number;
}

export function defineWorkers(s: Sequelize) {
  return {
    workers: defineTable<WorkerRow, 'id' | 'paused' | 'graceful'>(s, 'workers', {
      id: col.id(),
      name: col.varchar(50),
      info: col.text(),
      paused: col.smallint({ default: 0 }),
      graceful: col.smallint({ default: 0 }),
    }),
    configured_workers: defineTable<ConfiguredWorkerRow, 'id'>(s, 'configured_workers', {
      id: col.id(),
      buildermasterid: col.int(),
      workerid: col.int(),
    }),
    connected_workers: defineTable<ConnectedWorkerRow, 'id'>(s, 'connected_workers', {
      id: col.id(),
      masterid: col.int(),
      workerid: col.int(),
    }),
  };
}
