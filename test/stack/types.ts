/**
 * What the local stack is made of, as recorded in `.lagscale/stack.json`. Every process the stack starts is
 * detached and recorded here, so that `stack down`, a test in another process, or the demo can find it again.
 */
export interface KafkaInfo {
  /** external: KAFKA_BOOTSTRAP_SERVERS; testcontainers: a container; local: a KRaft broker from Maven Central. */
  kind: "external" | "testcontainers" | "local";
  version: string;
  /** PLAINTEXT listener, host:port. */
  bootstrapServers: string[];
  /** SASL_PLAINTEXT listener with SCRAM users, when the stack was asked for one. */
  sasl?: {
    bootstrapServers: string[];
    users: { mechanism: "scram-sha-256" | "scram-sha-512"; username: string; password: string }[];
  };
  /** TLS, mTLS and SASL_SSL listeners and their certificates (local kind; see test/stack/kafka/pki.ts). */
  secured?: KafkaSecuredListeners;
  /** Enough to stop and start the same broker again from any process (kind-specific). */
  handle: Record<string, unknown>;
}

/** Files of the local broker's certificates (PEM). */
export interface KafkaPki {
  dir: string;
  ca: string;
  serverCert: string;
  /** Key and certificate chain in one file, Kafka's PEM keystore. */
  serverPem: string;
  clientCert: string;
  clientKey: string;
  /** clientKey encrypted (PKCS#8) with clientKeyPassword. */
  clientEncryptedKey: string;
  clientKeyPassword: string;
  expiredClientCert: string;
  expiredClientKey: string;
  /** A CA the broker does not trust, and a client certificate it signed. */
  foreignCa: string;
  foreignClientCert: string;
  foreignClientKey: string;
}

export interface KafkaSecuredListeners {
  /** SSL, server authentication only. */
  tls: string[];
  /** SSL with client certificates required (signed by pki.ca). */
  mtls: string[];
  /** SASL_SSL with PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER (Kafka's unsecured-JWS validator). */
  saslSsl: string[];
  plainUsers: { username: string; password: string }[];
  /** Tokens on the SASL_SSL listener must carry this scope. */
  oauthRequiredScope: string;
  pki: KafkaPki;
}

export interface KubeInfo {
  kind: "external" | "local";
  version: string;
  /** Admin kubeconfig for tools and tests. */
  kubeconfig: string;
  server: string;
  /** Name of the Node the pod runner registered (local kind only). */
  nodeName?: string;
  handle: Record<string, unknown>;
}

export interface PodRunnerInfo {
  pid: number;
  nodeName: string;
}

/** `podman system service` for testcontainers (test/stack/containers/service.ts). */
export interface ContainerService {
  pid: number;
  socket: string;
  /** unix://<socket>, testcontainers' DOCKER_HOST. */
  dockerHost: string;
  /** lagscale's containers.conf (CONTAINERS_CONF) the service and every podman command use. */
  containersConf: string;
  logFile: string;
}

/** An image the test command built (or found built) from this checkout. */
export interface BuiltImage {
  /** The name pods and manifests use, e.g. lagscale/controller:dev. */
  name: string;
  /** The same image tagged with the hash of its inputs, e.g. lagscale/controller:3f2a9c01d4e5. */
  tag: string;
  id: string;
  bytes: number;
  /** False when the hashed tag existed and nothing was built. */
  built: boolean;
  seconds: number;
}

/** The container engine of the stack (test/stack/containers/): usable or not and why, its socket, images. */
export interface ContainersInfo {
  usable: boolean;
  /** Why not, when not usable; tests that need containers skip with it. */
  reason?: string;
  engine?: { name: "podman"; version: string; installed: string[] };
  service?: ContainerService;
  images?: BuiltImage[];
  /** Why the images are missing, when a build failed (the rest of the stack still runs). */
  imagesError?: string;
}

export interface StackInfo {
  startedAt: string;
  /** Folder holding state, logs and the stack's kubeconfig. */
  dir: string;
  kubeconfig: string;
  bootstrapServers: string[];
  kafka: KafkaInfo;
  kube: KubeInfo;
  /** The process pod runner playing the kubelet (local control plane only; a kind/k3s cluster has kubelets). */
  podRunner?: PodRunnerInfo;
  /** The container engine, its API socket for testcontainers and the images built (absent: an older stack). */
  containers?: ContainersInfo;
  /** Seconds each part took to come up, for the provisioning report. */
  timings: Record<string, number>;
}
