/**
 * The Kafka `version` trigger parameter. KEDA hands it to its Kafka client library (Sarama v1.60.1),
 * whose parser accepts `0.a.b.c` before Kafka 1 and `a.b.c` from Kafka 1 on, and nothing else. That
 * parser checks the form only, so a well-formed version the library has no constant for (say `3.9.3`)
 * is accepted by KEDA; lagscale accepts it too and reports a warning, using the list below.
 */
import { cutValue } from "./params.js";

/** The versions Sarama v1.60.1 has constants for, oldest first. */
export const KNOWN_KAFKA_VERSIONS: readonly string[] = [
  "0.8.2.0", "0.8.2.1", "0.8.2.2", "0.9.0.0", "0.9.0.1", "0.10.0.0", "0.10.0.1", "0.10.1.0", "0.10.1.1",
  "0.10.2.0", "0.10.2.1", "0.10.2.2", "0.11.0.0", "0.11.0.1", "0.11.0.2",
  "1.0.0", "1.0.1", "1.0.2", "1.1.0", "1.1.1",
  "2.0.0", "2.0.1", "2.1.0", "2.1.1", "2.2.0", "2.2.1", "2.2.2", "2.3.0", "2.3.1", "2.4.0", "2.4.1",
  "2.5.0", "2.5.1", "2.6.0", "2.6.1", "2.6.2", "2.6.3", "2.7.0", "2.7.1", "2.7.2", "2.8.0", "2.8.1", "2.8.2",
  "3.0.0", "3.0.1", "3.0.2", "3.1.0", "3.1.1", "3.1.2", "3.2.0", "3.2.1", "3.2.2", "3.2.3", "3.3.0", "3.3.1",
  "3.3.2", "3.4.0", "3.4.1", "3.5.0", "3.5.1", "3.5.2", "3.6.0", "3.6.1", "3.6.2", "3.7.0", "3.7.1", "3.7.2",
  "3.8.0", "3.8.1", "3.9.0", "3.9.1", "3.9.2",
  "4.0.0", "4.0.1", "4.1.0", "4.1.1", "4.1.2", "4.2.0", "4.2.1", "4.3.0", "4.3.1",
]; // prettier-ignore

/** KEDA's default when `version` is not given (Sarama's V1_0_0_0). */
export const DEFAULT_KAFKA_VERSION = "1.0.0";

export type KafkaVersionCheck =
  { ok: true; version: string; known: boolean } | { ok: false; message: string };

/** Sarama's ParseKafkaVersion rules: at least 5 characters, `0.a.b.c` or `a.b.c` with ASCII digits. */
export function checkKafkaVersion(s: string): KafkaVersionCheck {
  const form = s.startsWith("0") ? /^0\.[0-9]+\.[0-9]+\.[0-9]+$/ : /^[0-9]+\.[0-9]+\.[0-9]+$/;
  if (s.length < 5 || !form.test(s)) {
    return { ok: false, message: `error parsing kafka version: invalid version \`${cutValue(s)}\`` };
  }
  // Sarama reads each part with %d, so "2.08.0" is version 2.8.0.
  const canonical = s
    .split(".")
    .map((p) => String(Number.parseInt(p, 10)))
    .join(".");
  return { ok: true, version: canonical, known: KNOWN_KAFKA_VERSIONS.includes(canonical) };
}
