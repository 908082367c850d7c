/** Sidecar injection: the pod-spec builder, the opt-in, the settings, and the mutating webhook's decision. */
export * from "./sidecar.js";
export * from "./optin.js";
export * from "./settings.js";
export * from "./credentials.js";
export * from "./patch.js";
export * from "./lookups.js";
export * from "./decide.js";
export * from "./report-ca.js";
