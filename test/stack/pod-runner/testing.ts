/**
 * The pod-test helpers moved to test/support/kube.ts; this name stays until the tests that still import
 * podRunnerMissing from here switch over.
 */
export { podRunnerMissing } from "../../support/kube.js";
