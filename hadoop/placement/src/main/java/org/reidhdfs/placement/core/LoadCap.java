package org.reidhdfs.placement.core;

/**
 * A bounded-load rule in the spirit of consistent hashing with bounded loads (Mirrokni, Thorup,
 * Zadimoghaddam 2016): a rack above its weighted share passes items on to their next choice, so
 * one heavy identity cannot overload its home rack.
 *
 * <p>The cap is soft and sheds by priority, not by arrival time. Below {@code (1 + eps/2)} times
 * its share an item takes everything; between that and {@code (1 + eps)} it refuses the items
 * whose priority (a hash of the item's key) is below a threshold rising from 0 to 1; at
 * {@code (1 + eps)} it refuses everything, which bounds its load. A hard cap refuses whichever
 * items happen to arrive while the target is full, so any change of load history (a node joining)
 * reshuffles which items spilled; shedding the lowest priorities first makes a slightly different
 * history shed nearly the same items.
 */
public final class LoadCap {
  /** No cap: every rack and node accepts. */
  public static final LoadCap NONE = new LoadCap(0, 0);

  private static final long PRIORITY_SALT = KeyHash.of("load-cap priority");

  private final double epsilon;
  private final double minGap;

  /**
   * @param epsilon largest relative excess over the weighted share; 0 disables the cap
   * @param minGap  for byte utilisation, an absolute margin (fraction of capacity) added to the
   *                band, so that a nearly empty cluster is not steered by noise
   */
  public LoadCap(double epsilon, double minGap) {
    if (!(epsilon >= 0) || Double.isInfinite(epsilon)) {
      throw new PlacementException("load-cap epsilon must be >= 0 and finite, got " + epsilon);
    }
    if (!(minGap >= 0 && minGap <= 1)) {
      throw new PlacementException("load-cap minimum gap must be within [0, 1], got " + minGap);
    }
    this.epsilon = epsilon;
    this.minGap = minGap;
  }

  public boolean enabled() {
    return epsilon > 0;
  }

  public double epsilon() {
    return epsilon;
  }

  /** An item's priority in (0, 1): the lower, the earlier it is shed. */
  public static double priority(long itemKey) {
    return KeyHash.unit(KeyHash.pair(itemKey, PRIORITY_SALT));
  }

  /**
   * Whether a target whose load is {@code loadRatio} times its weighted share accepts an item of
   * the given priority.
   */
  public boolean admits(double loadRatio, double priority) {
    if (!enabled()) {
      return true;
    }
    return priority >= (loadRatio - 1 - epsilon / 2) / (epsilon / 2);
  }

  /**
   * Discrete form: a target of {@code weight} holding {@code load} units, when {@code total} units
   * are placed over {@code totalWeight}, offered one more. The shedding band is at least one unit
   * wide, so that while few units are placed a target is not closed by rounding alone.
   */
  public boolean admitsUnit(
      long load, double weight, long total, double totalWeight, double priority) {
    if (!enabled()) {
      return true;
    }
    double share = total * weight / totalWeight;
    double width = Math.max(share * epsilon / 2, 1);
    return priority >= (load - share * (1 + epsilon / 2)) / width;
  }

  /**
   * Byte form: a target at {@code utilization} (used / capacity) when the cluster is at
   * {@code meanUtilization}. The band is shifted up by {@code minGap}: shedding starts at
   * {@code mean * (1 + eps/2) + minGap} and is complete at {@code mean * (1 + eps) + minGap}.
   */
  public boolean admitsUtilization(
      double utilization, double meanUtilization, double priority) {
    if (!enabled() || meanUtilization <= 0) {
      return true;
    }
    return admits((utilization - minGap) / meanUtilization, priority);
  }
}
