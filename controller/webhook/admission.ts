/**
 * admission.k8s.io/v1 AdmissionReview: reading a request body strictly (anything malformed is a message for
 * an HTTP 400, never an exception) and writing the response the API server expects.
 */
import { errorText } from "../../core/errors.js";

export const ADMISSION_API_VERSION = "admission.k8s.io/v1";
/** Bodies above this are refused (the API server's own request limit is 3 MiB too). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  resource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation?: string;
  userInfo?: { username?: string };
  /** The object as it would be stored (CREATE, UPDATE). */
  object?: unknown;
  /** The stored object (UPDATE, DELETE). */
  oldObject?: unknown;
  dryRun?: boolean;
}

/** A Kubernetes uid is 36 characters; the answer echoes it, so a longer one is refused. */
export const MAX_UID_LENGTH = 128;

export type ParsedReview = { ok: true; request: AdmissionRequest } | { ok: false; message: string };

/** True for `application/json`, with or without parameters (`; charset=utf-8`). */
export function isJsonContentType(contentType: string | undefined): boolean {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase() === "application/json";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads an AdmissionReview request body; every way it can be wrong has its own message. */
export function parseAdmissionReview(body: string): ParsedReview {
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch (err) {
    return { ok: false, message: `the body is not JSON (${errorText(err)})` };
  }
  if (!isObject(review)) return { ok: false, message: "the body is not a JSON object (an AdmissionReview)" };
  if (review["apiVersion"] !== ADMISSION_API_VERSION || review["kind"] !== "AdmissionReview") {
    return {
      ok: false,
      message: `expected apiVersion ${ADMISSION_API_VERSION} kind AdmissionReview, got apiVersion ${JSON.stringify(review["apiVersion"])} kind ${JSON.stringify(review["kind"])} (set admissionReviewVersions: [v1] in the webhook configuration)`,
    };
  }
  const request = review["request"];
  if (!isObject(request)) return { ok: false, message: "the AdmissionReview has no request object" };
  if (typeof request["uid"] !== "string" || request["uid"] === "") {
    return { ok: false, message: "the AdmissionReview request has no uid" };
  }
  if (request["uid"].length > MAX_UID_LENGTH) {
    return {
      ok: false,
      message: `the AdmissionReview request's uid is longer than ${MAX_UID_LENGTH} characters`,
    };
  }
  for (const field of ["name", "namespace"] as const) {
    if (request[field] !== undefined && typeof request[field] !== "string") {
      return { ok: false, message: `the AdmissionReview request's ${field} is not a string` };
    }
  }
  if (request["dryRun"] !== undefined && typeof request["dryRun"] !== "boolean") {
    return { ok: false, message: "the AdmissionReview request's dryRun is not true or false" };
  }
  const op = request["operation"];
  if (op !== undefined && typeof op !== "string") {
    return { ok: false, message: "the AdmissionReview request's operation is not a string" };
  }
  if ((op === "CREATE" || op === "UPDATE") && !isObject(request["object"])) {
    return { ok: false, message: `the AdmissionReview ${op} request has no object` };
  }
  return { ok: true, request: request as unknown as AdmissionRequest };
}

export interface Verdict {
  allowed: boolean;
  /** Why it was refused (shown to the user as `admission webhook "..." denied the request: <message>`). */
  message?: string;
  /** HTTP-like code of a refusal; 403 as controller-runtime's Denied. */
  code?: number;
  warnings?: string[];
  /** A JSONPatch for the object (mutating webhooks, allowed requests only). */
  patch?: readonly unknown[];
}

/** The AdmissionReview answer for one request. */
export function admissionResponse(uid: string, verdict: Verdict): Record<string, unknown> {
  const response: Record<string, unknown> = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) {
    const code = verdict.code ?? 403;
    response["status"] = {
      code,
      reason: code === 403 ? "Forbidden" : "BadRequest",
      message: verdict.message ?? "denied",
    };
  }
  if (verdict.warnings && verdict.warnings.length > 0) response["warnings"] = verdict.warnings;
  if (verdict.allowed && verdict.patch && verdict.patch.length > 0) {
    response["patchType"] = "JSONPatch";
    response["patch"] = Buffer.from(JSON.stringify(verdict.patch)).toString("base64");
  }
  return { apiVersion: ADMISSION_API_VERSION, kind: "AdmissionReview", response };
}
