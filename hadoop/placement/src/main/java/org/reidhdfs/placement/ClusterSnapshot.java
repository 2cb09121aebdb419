package org.reidhdfs.placement;

import org.reidhdfs.placement.core.LoadCap;

/**
 * What one placement decision reads: the hash layout plus rack utilisation as of the last
 * refresh. Immutable, so concurrent chooseTarget calls share it without locks; it may be a few
 * seconds old, which is safe because every node it proposes is still checked by Hadoop's own
 * rules (alive, in service, not stale, enough space, not excluded) at decision time.
 */
final class ClusterSnapshot {
  final HashLayout layout;
  final long builtAtMs;
  final int leafCount;
  private final LoadCap cap;
  /** used / capacity of each rack's live DataNodes; NaN for a rack with none. */
  private final double[] rackUtilization;
  private final double meanUtilization;

  ClusterSnapshot(
      HashLayout layout,
      long builtAtMs,
      int leafCount,
      LoadCap cap,
      double[] rackUtilization,
      double meanUtilization) {
    this.layout = layout;
    this.builtAtMs = builtAtMs;
    this.leafCount = leafCount;
    this.cap = cap;
    this.rackUtilization = rackUtilization;
    this.meanUtilization = meanUtilization;
  }

  boolean rackOpen(int rack, double priority) {
    double utilization = rackUtilization[rack];
    return Double.isNaN(utilization)
        || cap.admitsUtilization(utilization, meanUtilization, priority);
  }
}
