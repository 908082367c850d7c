/** lagscale's CRDs: one TypeBox schema each, the types, validation and OpenAPI generated from it. */
export * from "./kit.js";
export * from "./common.js";
export * from "./scaledobject.js";
export * from "./scaledjob.js";
export * from "./triggerauthentication.js";
export * from "./validate.js";
export * from "./bounds.js";
export * from "./pause.js";
export * from "./openapi.js";
export * from "./crds.js";
export * from "./quantity.js";
