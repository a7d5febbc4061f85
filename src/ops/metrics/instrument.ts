import type { AdmissionStore, AdmitOutcome } from "../../ports/admission.ts";
import type { Ledger } from "../../ports/ledger.ts";
import type { RateLimiter } from "../../ports/rate-limiter.ts";
import type { Metrics } from "./metrics.ts";

/**
 * Wraps an adapter so that every call that throws or rejects counts as a
 * dependency error, without the adapter knowing. A Proxy (not a hand-written
 * wrapper) so that a method added to an interface later is counted too; each
 * wrapped method is built once. Methods run with the real object as `this`,
 * so classes with private fields work.
 */
export function countFailures<T extends object>(target: T, dependency: string, metrics: Metrics): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(obj, prop) {
      const value = Reflect.get(obj, prop, obj) as unknown;
      if (typeof value !== "function") return value;
      let fn = wrapped.get(prop);
      if (!fn) {
        fn = (...args: unknown[]) => {
          // Looked up per call, so a method replaced later (tests do) is the one called.
          const method = Reflect.get(obj, prop, obj) as (...a: unknown[]) => unknown;
          let result: unknown;
          try {
            result = method.apply(obj, args);
          } catch (error) {
            metrics.dependencyError(dependency);
            throw error;
          }
          if (result instanceof Promise)
            return result.catch((error: unknown) => {
              metrics.dependencyError(dependency);
              throw error;
            });
          return result;
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}

/** Counts each admission decision by outcome, and failures as dependency errors. */
export function instrumentAdmission(store: AdmissionStore, metrics: Metrics): AdmissionStore {
  const counted = countFailures(store, "admission", metrics);
  const admit = counted.admit;
  const onOutcome = (outcome: AdmitOutcome) => {
    metrics.admission(outcome.kind);
    return outcome;
  };
  const onError = (error: unknown) => {
    metrics.admission("error");
    throw error;
  };
  const countedAdmit = (request: Parameters<AdmissionStore["admit"]>[0]) =>
    admit(request).then(onOutcome, onError);
  return new Proxy(counted, {
    get: (obj, prop) => (prop === "admit" ? countedAdmit : Reflect.get(obj, prop, obj)),
  });
}

/** Counts failed checks as dependency errors, and each claim it holds back as an admission outcome. */
export function instrumentRateLimiter(limiter: RateLimiter, metrics: Metrics): RateLimiter {
  const counted = countFailures(limiter, "rate_limiter", metrics);
  return {
    check: async (campaignId, userId, clientIp) => {
      const retryAfter = await counted.check(campaignId, userId, clientIp);
      if (retryAfter !== undefined) metrics.admission("rate_limited");
      return retryAfter;
    },
  };
}

/** The ports the API's services use, with metrics around admission, ledger and rate limiter. */
export function instrumentPorts<
  P extends { admission: AdmissionStore; ledger: Ledger; rateLimiter?: RateLimiter | undefined },
>(ports: P, metrics: Metrics): P {
  return {
    ...ports,
    admission: instrumentAdmission(ports.admission, metrics),
    ledger: countFailures(ports.ledger, "ledger", metrics),
    rateLimiter: ports.rateLimiter && instrumentRateLimiter(ports.rateLimiter, metrics),
  };
}
