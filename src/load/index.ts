/**
 * The load-testing harness behind `neurograph load`: plans (flags → validated plan), worker
 * processes running open- or closed-loop schedules, HDR latency histograms merged exactly,
 * reports (text, JSON, SVG/HTML chart) and SLO verdicts.
 */
export { resolveLoadPlan, SCENARIOS, OP_KINDS, type LoadFlags, type LoadPlan, type GrpcTarget, type NatsTarget, type Slo, type Scenario, type OpKind } from "./plan.ts";
export { runLoad, writeReportFiles, preload, type RunOptions } from "./run.ts";
export { buildReport, formatReport, type LoadReport, type OpReport, type SloVerdict } from "./report.ts";
export { latencyChartSvg, reportHtml } from "./chart.ts";
export { runWorkerProcess } from "./worker-process.ts";
export { ArrivalSchedule } from "./schedule.ts";
export { runStress, formatStressReport, STRESS_CONFIGS, type StressConfig, type StressOptions, type StressReport, type StressRun } from "./stress.ts";
