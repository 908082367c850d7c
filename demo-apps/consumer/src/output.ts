/**
 * The Go consumer's console lines, word for word, with its ANSI colours only when stdout is a terminal
 * (and NO_COLOR is unset). Two stray spaces of the original (after "Lag: %d" and at the start of the next
 * line) are left out.
 */
export interface Palette {
  reset: string;
  red: string;
  green: string;
  yellow: string;
  blue: string;
  purple: string;
  cyan: string;
}

export const COLOURS: Palette = {
  reset: "\x1b[0m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  blue: "\x1b[34m",
  purple: "\x1b[35m",
  cyan: "\x1b[36m",
};

export const PLAIN: Palette = { reset: "", red: "", green: "", yellow: "", blue: "", purple: "", cyan: "" };

export function paletteFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Palette {
  return stream.isTTY === true && !env.NO_COLOR ? COLOURS : PLAIN;
}

/** Go's name for a signal as `%s` prints it. */
export function goSignalName(signal: NodeJS.Signals): string {
  return signal === "SIGTERM" ? "terminated" : signal === "SIGINT" ? "interrupt" : signal;
}

export function consoleLines(p: Palette) {
  return {
    /** `%v` of a Go []string is `[a b c]`. */
    started: (brokers: string[], group: string, topic: string) =>
      `${p.yellow}Waiting for messages on ${p.blue}broker: [${brokers.join(" ")}] ${p.purple}group: ${group} ` +
      `${p.cyan}topic: ${topic}${p.reset}`,
    waiting: (offset: string, lag: string) =>
      `${p.yellow}Waiting for a new message. ${p.blue}Current Offset: ${offset}, ${p.purple}Lag: ${lag}${p.reset}`,
    message: (topic: string, partition: number, offset: string, key: string, value: string) =>
      `${p.red}message at ${p.blue}topic/${p.purple}partition/${p.cyan}offset ` +
      `${p.blue}${topic}/${p.purple}${partition}/${p.cyan}${offset}: ${p.green}${key} = ${value}${p.reset}`,
    slept: (seconds: string) => `${p.yellow}Slept for ${p.blue}${seconds} seconds${p.reset}`,
    error: (err: string) => `Error occured while waiting for message ${p.red}${err}${p.reset}`,
    signal: (signal: NodeJS.Signals) => `${p.red}Got signal: ${goSignalName(signal)}${p.reset}`,
    closed: () => `${p.green}Closed the reader${p.reset}`,
  };
}

export type ConsoleLines = ReturnType<typeof consoleLines>;
