/**
 * Kind to resource mapping through the API server's discovery documents (`/api/v1`, `/apis/<group>/<version>`),
 * one group-version at a time, cached, and fetched again when a kind is not found in the cached copy (a CRD
 * may have been installed since). This is what KEDA gets from controller-runtime's REST mapper.
 */
import { isNotFound, type KubeRest } from "./rest.js";

/** A resolved kind: KEDA's GroupVersionKindResource plus what lagscale needs to know about it. */
export interface ResolvedKind {
  group: string;
  version: string;
  kind: string;
  /** Plural resource name, e.g. "deployments". */
  resource: string;
  namespaced: boolean;
  /** The resource has a `/scale` subresource. */
  scalable: boolean;
}

interface APIResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

interface APIResourceList {
  resources?: APIResource[];
}

/** Splits "apps/v1" into group "apps" and version "v1"; "v1" is the core group. */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const parts = apiVersion.split("/");
  if (parts.length === 1 && parts[0]) return { group: "", version: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { group: parts[0], version: parts[1] };
  throw new Error(`apiVersion ${JSON.stringify(apiVersion)} is not <version> or <group>/<version>`);
}

/** Finds `kind` in one group-version's discovery list. */
export function findKind(
  list: APIResourceList,
  group: string,
  version: string,
  kind: string,
): ResolvedKind | undefined {
  const resources = list.resources ?? [];
  const main = resources.find((r) => r.kind === kind && !r.name.includes("/"));
  if (!main) return undefined;
  const scalable = resources.some((r) => r.name === `${main.name}/scale`);
  return { group, version, kind, resource: main.name, namespaced: main.namespaced, scalable };
}

export class Discovery {
  private readonly cache = new Map<string, { list: APIResourceList; at: number }>();

  /**
   * @param minRefreshMs a cached group-version is fetched again on a miss only if it is at least this old,
   *   so a loop asking for a kind that does not exist does not hammer the API server.
   */
  constructor(
    private readonly rest: KubeRest,
    private readonly minRefreshMs = 2000,
  ) {}

  /** Resolves `kind` in `apiVersion`, or throws an error naming both. */
  async resolve(apiVersion: string, kind: string): Promise<ResolvedKind> {
    const { group, version } = parseApiVersion(apiVersion);
    const gv = group ? `${group}/${version}` : version;
    let cached = this.cache.get(gv);
    let found = cached && findKind(cached.list, group, version, kind);
    if (!found && (!cached || Date.now() - cached.at >= this.minRefreshMs)) {
      cached = { list: await this.fetch(gv), at: Date.now() };
      this.cache.set(gv, cached);
      found = findKind(cached.list, group, version, kind);
    }
    if (!found) {
      throw new Error(`the API server has no kind ${kind} in ${gv} (is its CRD installed?)`);
    }
    return found;
  }

  /** Forget what was learned, e.g. after CRDs changed. */
  invalidate(): void {
    this.cache.clear();
  }

  private async fetch(gv: string): Promise<APIResourceList> {
    const path = gv.includes("/") ? `/apis/${gv}` : `/api/${gv}`;
    try {
      return await this.rest.get<APIResourceList>(path);
    } catch (err) {
      if (isNotFound(err)) return { resources: [] };
      throw err;
    }
  }
}
