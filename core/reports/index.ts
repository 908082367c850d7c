/** Sidecar reports: the contract between the sidecar and the controller's report receiver. */
export * from "./schema.js";
