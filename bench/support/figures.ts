/** The figures the e2e scenario reports for one master, ours or Buildbot's, in the same units. */
export interface E2eFigures {
  implementation: string;
  n: number;
  buildsPerSecond: number;
  wallSeconds: number;
  submitSeconds: number;
  postMsMedian: number;
  masterCpuMsPerBuild: number;
  /** % of one core during the window. */
  masterCpuPercent: number;
  masterPeakRssKiB: number;
  dbBytesPerBuild: number;
  /** POST sent → completion seen, ms. */
  latencyMsMedian: number;
  latencyMsP95: number;
  buildsNotSuccess: number;
  buildsCreated: number;
  /** CPU-seconds used during the window by everything but the master and the bench client. */
  othersCpuSeconds: number;
}
