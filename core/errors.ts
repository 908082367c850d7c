/** Condition and Event messages are cut here: a broker's or the API server's error text can be anything. */
export const MAX_ERROR_CHARS = 1024;

/** The text of a thrown value for a log line, an Event or a status condition, cut at `maxChars`. */
export function errorText(err: unknown, maxChars = Infinity): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}

/** The first line of `errorText`: for a message that quotes a client's multi-line error in one sentence. */
export function errorLine(err: unknown): string {
  return errorText(err).split("\n")[0] ?? "";
}
