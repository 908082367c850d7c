import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger };

const LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Reads LOG_LEVEL; an unknown value is an error a person can act on, not a silent default. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LevelWithSilent {
  const raw = env.LOG_LEVEL?.trim().toLowerCase();
  if (!raw) return "info";
  if ((LEVELS as readonly string[]).includes(raw)) return raw as LevelWithSilent;
  throw new Error(`LOG_LEVEL=${JSON.stringify(env.LOG_LEVEL)} is not one of ${LEVELS.join(", ")}`);
}

/** Structured JSON logs on stdout, one object per line, with the component's name. */
export function createLogger(component: string, level: LevelWithSilent = logLevelFromEnv()): Logger {
  return pino({
    name: component,
    level,
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
