/** `npm run demo -- [--count N] [--timeout S] [--keep] [--no-controller] [--no-sidecar]`: the demo's flags, checked with messages a person can act on. */

export interface DemoArgs {
  /** Messages the one request to the producer writes (the talk's curl: 100). */
  count: number;
  /** Seconds the live view waits for the consumer to be back at 0 after the request. */
  timeoutSeconds: number;
  /** Leave the namespace, the topic and the controller running at the end. */
  keep: boolean;
  /** Do not start the controller (to watch the lag alone, or with a controller started by hand). */
  noController: boolean;
  /** Today's polling-only run: no sidecar in the consumer, the controller's receiver and end-offset watch off. */
  noSidecar: boolean;
  help: boolean;
}

export const DEFAULTS: DemoArgs = {
  count: 100,
  timeoutSeconds: 480,
  keep: false,
  noController: false,
  noSidecar: false,
  help: false,
};

export const USAGE = `usage: npm run demo -- [--count N] [--timeout S] [--keep] [--no-controller] [--no-sidecar]

  --count N     messages the one request to the producer writes (default ${DEFAULTS.count}, as in the talk;
                1 to 100000). The consumer sleeps 3 s per message, so 5 pods take N*0.6 s.
  --timeout S   seconds to watch after the request before giving up on "back to 0" (default ${DEFAULTS.timeoutSeconds})
  --keep        leave the demo namespace, the topic and the controller running at the end
  --no-controller
                do not start lagscale's controller (nothing scales unless you run one yourself:
                npm run controller -- --kubeconfig .lagscale/kubeconfig --leader-elect=false)
  --no-sidecar  polling only, for comparison: the consumer without lagscale's sidecar, the controller without
                its report receiver and end-offset watch (--reports=off --end-offset-watch-interval=0)
  --help        this text

The local stack (Kafka + Kubernetes) stays up afterwards; stop it with \`npm run stack -- down\`.`;

function positiveInt(flag: string, raw: string | undefined, max: number): number {
  if (raw === undefined || raw.startsWith("--")) throw new Error(`${flag} needs a value`);
  if (!/^\d+$/.test(raw)) throw new Error(`${flag} ${JSON.stringify(raw)}: expected a whole number`);
  const n = Number(raw);
  if (n < 1 || n > max) throw new Error(`${flag} ${raw}: expected 1 to ${max}`);
  return n;
}

/** Parses the flags; throws an Error naming the flag on anything it does not understand. */
export function parseArgs(argv: readonly string[]): DemoArgs {
  const out: DemoArgs = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const value = () => inline ?? argv[++i];
    switch (name) {
      case "--count":
        out.count = positiveInt("--count", value(), 100_000);
        break;
      case "--timeout":
        out.timeoutSeconds = positiveInt("--timeout", value(), 24 * 3600);
        break;
      case "--keep":
        if (inline !== undefined) throw new Error("--keep takes no value");
        out.keep = true;
        break;
      case "--no-controller":
        if (inline !== undefined) throw new Error("--no-controller takes no value");
        out.noController = true;
        break;
      case "--no-sidecar":
        if (inline !== undefined) throw new Error("--no-sidecar takes no value");
        out.noSidecar = true;
        break;
      case "--help":
      case "-h":
        out.help = true;
        break;
      default:
        throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return out;
}
