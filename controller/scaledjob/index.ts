/** The ScaledJob loop (leader only): KEDA's count mode and lagscale's per-message dispatch. */
export {
  ScaledJobController,
  perMessageTrigger,
  type MessageDispatch,
  type ScaledJobControllerOptions,
} from "./controller.js";
export { ApiJobClient, type JobClient } from "./jobs-client.js";
export { ScaledJobMetrics } from "./metrics.js";
export { KafkaMessageDispatch, type DispatcherOptions } from "./dispatcher.js";
