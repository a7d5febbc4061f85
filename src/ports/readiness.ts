/** One dependency's answer to a readiness check (GET /readyz, and the worker's /readyz). */
export interface DependencyStatus {
  name: string;
  ok: boolean;
  error?: string;
}

/** Checks the dependencies this process's role needs; never rejects. */
export type Readiness = () => Promise<DependencyStatus[]>;
