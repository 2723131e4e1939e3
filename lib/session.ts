/**
 * Open onnxruntime sessions on the execution provider in effect (lib/provider.ts): the fallback
 * to cpu with a note, or ProviderUnavailableError when strict, and a record of every session.
 */
import * as ort from "onnxruntime-node";
import {
  errorGist,
  type Provider,
  PROVIDER_NEEDS,
  type ProviderChoice,
  ProviderUnavailableError,
  recordSession,
  resolveProvider,
} from "./provider.ts";

/** onnxruntime-node's version as the loaded library reports it. */
export const ONNXRUNTIME_VERSION: string = ort.env.versions.node ?? ort.env.versions.common;

/** A session and the provider that runs it. */
export interface OpenedSession {
  session: ort.InferenceSession;
  provider: Provider;
  /** Why the requested provider did not run, when it did not. */
  note?: string;
}

/**
 * Open an onnxruntime session on `source` (path or bytes) with the provider in effect
 * (resolveProvider), falling back to cpu with a note, or throwing ProviderUnavailableError when
 * strict. `options(provider)` gives the session options for a provider; `what` names the session
 * in notes and records. An error on cpu itself is thrown as it is.
 */
export async function openSession(
  source: string | Uint8Array,
  options: (provider: Provider) => ort.InferenceSession.SessionOptions,
  what: string,
  choice: ProviderChoice = {},
): Promise<OpenedSession> {
  const { provider: requested, strict } = resolveProvider(choice);
  const create = (p: Provider) =>
    typeof source === "string"
      ? ort.InferenceSession.create(source, options(p))
      : ort.InferenceSession.create(source, options(p));
  if (requested === "cpu") {
    const session = await create("cpu");
    recordSession({ what, requested, provider: "cpu", onnxruntime: ONNXRUNTIME_VERSION });
    return { session, provider: "cpu" };
  }
  try {
    const session = await create(requested);
    recordSession({ what, requested, provider: requested, onnxruntime: ONNXRUNTIME_VERSION });
    return { session, provider: requested };
  } catch (e) {
    const why = errorGist(e instanceof Error ? e.message : String(e));
    if (strict) throw new ProviderUnavailableError(requested, what, why);
    const note = `execution provider "${requested}" is not available here (${why}); ran on cpu ` +
      `(${PROVIDER_NEEDS[requested]})`;
    console.error(`${what}: ${note}`);
    const session = await create("cpu");
    recordSession({ what, requested, provider: "cpu", note, onnxruntime: ONNXRUNTIME_VERSION });
    return { session, provider: "cpu", note };
  }
}
