/** Trigger metadata for the triggers lagscale supports: `kafka` and `cron`. */
export * from "./params.js";
export * from "./kafka.js";
export * from "./kafka-versions.js";
export * from "./cron.js";
