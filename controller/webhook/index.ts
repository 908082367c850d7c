/** The validating admission webhook for lagscale's objects. */
export * from "./admission.js";
export * from "./lookups.js";
export * from "./metrics.js";
export * from "./validate.js";
export * from "./server.js";
export * from "./config.js";
