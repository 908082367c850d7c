/** Trigger inputs from the cluster: the target's environment and TriggerAuthentication parameters. */
export * from "./sources.js";
export * from "./resolve.js";
export * from "./cached.js";
