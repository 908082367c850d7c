/** The ScaledObject reconcile loop (leader only) and its pure pieces. */
export { ScaledObjectController, type ScaledObjectControllerOptions } from "./controller.js";
export { EvaluationLoops, nextAlignedTime, type DueKey, type EvaluationLoopsOptions } from "./loops.js";
export * from "./spec.js";
export * from "./status.js";
export * from "./triggers.js";
