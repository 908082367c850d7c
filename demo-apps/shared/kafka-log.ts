/** Routes kafkajs's own log entries into the component's pino logger, so every line stays one JSON object. */
import { logLevel, type logCreator } from "kafkajs";
import type { Logger } from "../../core/log.js";

export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      const fields = { kafkajs: extra };
      if (level === logLevel.ERROR) logger.error(fields, message);
      else if (level === logLevel.WARN) logger.warn(fields, message);
      else if (level === logLevel.INFO) logger.info(fields, message);
      else logger.debug(fields, message);
    };
}

/** kafkajs's level matching the logger's, so kafkajs does not build entries pino would drop anyway. */
export function kafkaLogLevel(logger: Logger): logLevel {
  switch (logger.level) {
    case "trace":
    case "debug":
      return logLevel.DEBUG;
    case "info":
      // kafkajs logs every connect, join and commit at info; keep the demo's output readable.
      return logLevel.WARN;
    case "warn":
      return logLevel.WARN;
    case "silent":
      return logLevel.NOTHING;
    default:
      return logLevel.ERROR;
  }
}

/** A short reason for an error from kafkajs, including the cause chain kafkajs wraps retries in. */
export function describeKafkaError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    if (current instanceof Error) {
      if (!parts.includes(current.message)) parts.push(current.message);
      current =
        (current as Error & { cause?: unknown; originalError?: unknown }).originalError ?? current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(": ");
}
