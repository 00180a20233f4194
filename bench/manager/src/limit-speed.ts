/** What gauges the machine's speed in a run: provider-mock's CPU time for the VMs' calls. */
export interface SpeedGauge {
  /** provider-mock's CPU time in the run, in seconds. */
  mockCpuSeconds: number;
}

/**
 * The limit's time at the machine speed of a store's run. This machine's
 * speed drifts by a fifth or more within minutes, so a limit measured
 * before or after a run can flatter or wrong the store by as much.
 * provider-mock serves the same calls in both (Create, GetTask and Describe
 * per VM), so its CPU time gauges the speed: the limit's time scaled by the
 * mock's CPU in the store's run over its CPU in the limit's.
 */
export function limitAtRunSpeed(limit: SpeedGauge & { seconds: number }, run: SpeedGauge): number {
  return (limit.seconds * run.mockCpuSeconds) / limit.mockCpuSeconds;
}
