import type { Sequelize } from 'sequelize';
import { defineBuildrequests } from './buildrequests.js';
import { defineBuilders } from './builders.js';
import { defineBuilds } from './builds.js';
import { defineBuildsets } from './buildsets.js';
import { defineChanges } from './changes.js';
import { defineChangesources } from './changesources.js';
import { defineLogs } from './logs.js';
import { defineMasters } from './masters.js';
import { defineSchedulers } from './schedulers.js';
import { defineSourcestamps } from './sourcestamps.js';
import { defineState } from './state.js';
import { defineSteps } from './steps.js';
import { defineTestResults } from './testResults.js';
import { defineUsers } from './users.js';
import { defineWorkers } from './workers.js';

export type { TableModel } from './columns.js';
export type { BuildrequestClaimRow, BuildrequestRow } from './buildrequests.js';
export type { BuilderMasterRow, BuilderRow, BuilderTagRow, TagRow } from './builders.js';
export type { BuildDataRow, BuildPropertyRow, BuildRow } from './builds.js';
export type { BuildsetPropertyRow, BuildsetRow, BuildsetSourcestampRow } from './buildsets.js';
export type { ChangeFileRow, ChangePropertyRow, ChangeRow, ChangeUserRow } from './changes.js';
export type { ChangesourceMasterRow, ChangesourceRow } from './changesources.js';
export type { LogchunkRow, LogRow } from './logs.js';
export type { MasterRow } from './masters.js';
export type { SchedulerChangeRow, SchedulerMasterRow, SchedulerRow } from './schedulers.js';
export type { PatchRow, SourcestampRow } from './sourcestamps.js';
export type { ObjectRow, ObjectStateRow } from './state.js';
export type { StepRow } from './steps.js';
export type { TestCodePathRow, TestNameRow, TestResultRow, TestResultSetRow } from './testResults.js';
export type { UserInfoRow, UserRow } from './users.js';
export type { ConfiguredWorkerRow, ConnectedWorkerRow, WorkerRow } from './workers.js';

/** Models of all of Buildbot 3.7's tables, keyed by table name. */
export function defineModels(sequelize: Sequelize) {
  return {
    ...defineMasters(sequelize),
    ...defineBuilders(sequelize),
    ...defineWorkers(sequelize),
    ...defineChanges(sequelize),
    ...defineSourcestamps(sequelize),
    ...defineBuildsets(sequelize),
    ...defineBuildrequests(sequelize),
    ...defineBuilds(sequelize),
    ...defineSteps(sequelize),
    ...defineLogs(sequelize),
    ...defineSchedulers(sequelize),
    ...defineChangesources(sequelize),
    ...defineState(sequelize),
    ...defineUsers(sequelize),
    ...defineTestResults(sequelize),
  };
}

export type Models = ReturnType<typeof defineModels>;
export type TableName = keyof Models;
