/**
 * Pod IPs for the process pod runner: every pod gets its own loopback address 127.x.y.z (Linux routes all of
 * 127.0.0.0/8 to the loopback interface, so a process can bind to any of them without setup).
 *
 * 127.0.0.0/16 is never handed out (127.0.0.1 is the host's own address), nor 127.253.0.0/16 and up (Service
 * addresses of the runner's Service proxy, see services.ts), nor addresses ending in .0 or .255. Allocation walks the range round-robin, so a released address is reused as late as possible, and an
 * address still in use is never handed out twice.
 */

export function ipToNumber(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new Error(`${JSON.stringify(ip)} is not an IPv4 address`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export const POOL_FIRST = ipToNumber("127.1.0.1");
export const POOL_LAST = ipToNumber("127.252.255.254");
/** Where the Service proxy listens for pods, one address per Service: a range pods never get. */
export const SERVICE_POOL_FIRST = ipToNumber("127.253.0.1");
export const SERVICE_POOL_LAST = ipToNumber("127.253.255.254");

function usable(n: number): boolean {
  const last = n & 255;
  return last !== 0 && last !== 255;
}

export class IpPool {
  private readonly inUse = new Set<number>();
  private cursor: number;

  constructor(
    private readonly first = POOL_FIRST,
    private readonly last = POOL_LAST,
  ) {
    if (first > last) throw new Error(`empty IP range ${numberToIp(first)}..${numberToIp(last)}`);
    this.cursor = first;
  }

  get size(): number {
    return this.inUse.size;
  }

  has(ip: string): boolean {
    return this.inUse.has(ipToNumber(ip));
  }

  /** The next free address after the last one handed out. Throws when every address is in use. */
  allocate(): string {
    const span = this.last - this.first + 1;
    for (let i = 0; i < span; i++) {
      const n = this.cursor;
      this.cursor = n >= this.last ? this.first : n + 1;
      if (usable(n) && !this.inUse.has(n)) {
        this.inUse.add(n);
        return numberToIp(n);
      }
    }
    throw new Error(`all pod IPs in ${numberToIp(this.first)}..${numberToIp(this.last)} are in use`);
  }

  /**
   * Marks an address that a pod already has (for example from its status, after the runner restarted) as in
   * use. Returns false when it is outside the pool or already taken, in which case the pod needs a new one.
   */
  reserve(ip: string): boolean {
    let n: number;
    try {
      n = ipToNumber(ip);
    } catch {
      return false;
    }
    if (n < this.first || n > this.last || !usable(n) || this.inUse.has(n)) return false;
    this.inUse.add(n);
    return true;
  }

  release(ip: string): void {
    try {
      this.inUse.delete(ipToNumber(ip));
    } catch {
      // not an address of ours: nothing to release
    }
  }
}
