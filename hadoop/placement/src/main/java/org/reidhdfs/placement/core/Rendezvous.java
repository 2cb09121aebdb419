package org.reidhdfs.placement.core;

import java.util.Arrays;

/**
 * Weighted rendezvous (highest-random-weight) hashing over a fixed set of items.
 *
 * <p>Each item draws {@code ln(u) / weight} with {@code u} a uniform hash of (key, item) and the
 * highest draw wins: CRUSH's straw2. An item's share is exactly its weight share, and changing one
 * item's weight only moves keys to or from that item, since other items' draws do not change.
 * With equal weights the logarithm is skipped (it does not change the order).
 */
final class Rendezvous {
  private final long[] seeds;
  private final double[] inverseWeights;
  private final boolean uniform;

  Rendezvous(long[] seeds, double[] weights) {
    this.seeds = seeds.clone();
    this.inverseWeights = new double[weights.length];
    boolean equal = true;
    for (int i = 0; i < weights.length; i++) {
      inverseWeights[i] = 1.0 / weights[i];
      equal &= weights[i] == weights[0];
    }
    this.uniform = equal;
  }

  double draw(long key, int item) {
    double u = KeyHash.unit(KeyHash.pair(key, seeds[item]));
    return uniform ? u : Math.log(u) * inverseWeights[item];
  }

  /** Indices of {@code draws}, highest draw first. */
  static int[] rankByDraw(double[] draws) {
    int n = draws.length;
    Integer[] items = new Integer[n];
    for (int i = 0; i < n; i++) {
      items[i] = i;
    }
    Arrays.sort(items, (a, b) -> Double.compare(draws[b], draws[a]));
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = items[i];
    }
    return order;
  }

  /** Items best first, ranked lazily: one linear pass per item taken. */
  Cursor cursor(long key) {
    return new Cursor(key);
  }

  final class Cursor {
    private final double[] draws;
    private int taken;

    private Cursor(long key) {
      draws = new double[seeds.length];
      for (int i = 0; i < draws.length; i++) {
        draws[i] = draw(key, i);
      }
    }

    /** The next best item, or -1 when all were taken. */
    int next() {
      if (taken == draws.length) {
        return -1;
      }
      int best = -1;
      double bestDraw = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < draws.length; i++) {
        if (draws[i] > bestDraw) {
          bestDraw = draws[i];
          best = i;
        }
      }
      draws[best] = Double.NEGATIVE_INFINITY;
      taken++;
      return best;
    }
  }
}
