package org.reidhdfs.placement.sim;

/** One placement scheme under comparison. */
interface Strategy {
  /** Short name for the table. */
  String name();

  /** Whether re-running it on a changed cluster is meaningful (a function of keys, not luck). */
  boolean deterministic();

  /** Places every block of the workload, in write order. */
  Placement place(Cluster cluster, Workload workload, int replication);

  /**
   * Replica locations as global node ids, {@code replication} per block in write order, and the
   * time spent deciding them.
   */
  record Placement(int[] replicas, long nanos) {}

  /** HDFS's rule for the most replicas of one block on a rack ({@code getMaxNodesPerRack}). */
  static int maxPerRack(int replication, int racks) {
    if (racks <= 1 || replication <= 1) {
      return replication;
    }
    int max = (replication - 1) / racks + 2;
    return max == replication ? max - 1 : max;
  }
}
