/** The replica decision for ScaledObjects: pure functions shared by the controller (and tests). */
export * from "./spec.js";
export * from "./hpa.js";
export * from "./fallback.js";
export * from "./decide.js";
export * from "./pods.js";
export * from "./early.js";
