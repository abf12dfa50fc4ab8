/**
 * How many kind clusters run at once on a Docker engine. A kind cluster of
 * three nodes takes 1.5-2 GiB and a core while it starts; several workers on
 * one host (docker compose --scale worker=N) share one engine, so the cap is
 * per engine, not per process. The worker implements it over Redis
 * (apps/worker/src/cluster-slots.ts); the CLI grades one repository at a time
 * and needs none.
 */
export interface ClusterSlotRequest {
  /** The kind cluster's name (what the slot is recorded under, for the janitor). */
  cluster: string;
  /** The job's signal: waiting for a slot ends with the job. */
  signal: AbortSignal;
  /** Says once that the job waits, and why. */
  progress: (message: string) => void;
}

export interface ClusterSlot {
  /**
   * Gives the slot back. `leftBehind` (the cluster could not be deleted)
   * frees the slot but leaves the cluster on record, so that the janitor
   * deletes it; a cluster kept on purpose (keepOnFailure) is not left behind.
   */
  release(outcome: { leftBehind: boolean }): Promise<void>;
}

export interface ClusterSlots {
  /** Resolves once the job may create its cluster; rejects when the signal aborts. */
  acquire(request: ClusterSlotRequest): Promise<ClusterSlot>;
}
