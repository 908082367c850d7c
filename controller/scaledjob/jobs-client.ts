/**
 * The batch/v1 Jobs of a ScaledJob and their pods, through the API server: the small interface the ScaledJob
 * loop and the dispatcher use, so their logic can be tested against a fake.
 */
import type { BatchJob } from "../../core/scaledjob/job-object.js";
import { SCALEDJOB_NAME_LABEL } from "../../core/scaledjob/job-object.js";
import type { PodSnapshot } from "../../core/scaledjob/jobs.js";
import { resourcePath, type KubeList, type KubeRest, type Pod } from "../kube/index.js";

export interface JobClient {
  /** The Jobs labelled with the ScaledJob's name. */
  list(namespace: string, scaledJob: string): Promise<BatchJob[]>;
  /** Pods of the ScaledJob's Jobs, by Job name (label `job-name`). */
  podsByJob(namespace: string, scaledJob: string): Promise<Map<string, PodSnapshot[]>>;
  /** Creates the Job; throws the API server's error (isAlreadyExists for a name taken). */
  create(namespace: string, job: BatchJob): Promise<BatchJob>;
  delete(namespace: string, name: string, propagation: "Background" | "Foreground"): Promise<void>;
}

const JOBS = { group: "batch", version: "v1", plural: "jobs", namespaced: true } as const;
const PODS = { group: "", version: "v1", plural: "pods", namespaced: true } as const;

export class ApiJobClient implements JobClient {
  constructor(private readonly rest: KubeRest) {}

  async list(namespace: string, scaledJob: string): Promise<BatchJob[]> {
    const list = await this.rest.get<KubeList<BatchJob>>(resourcePath(JOBS, namespace), {
      labelSelector: `${SCALEDJOB_NAME_LABEL}=${scaledJob}`,
    });
    return list.items;
  }

  async podsByJob(namespace: string, scaledJob: string): Promise<Map<string, PodSnapshot[]>> {
    // The pod template carries the ScaledJob label too: one list for every Job's pods.
    const list = await this.rest.get<KubeList<Pod>>(resourcePath(PODS, namespace), {
      labelSelector: `${SCALEDJOB_NAME_LABEL}=${scaledJob}`,
    });
    const out = new Map<string, PodSnapshot[]>();
    for (const p of list.items) {
      const job = p.metadata?.labels?.["job-name"];
      if (!job) continue;
      const pods = out.get(job) ?? [];
      pods.push({ phase: p.status?.phase, conditions: p.status?.conditions });
      out.set(job, pods);
    }
    return out;
  }

  create(namespace: string, job: BatchJob): Promise<BatchJob> {
    return this.rest.post<BatchJob>(resourcePath(JOBS, namespace), job);
  }

  async delete(namespace: string, name: string, propagation: "Background" | "Foreground"): Promise<void> {
    await this.rest.delete(resourcePath(JOBS, namespace, name), { propagationPolicy: propagation });
  }
}
