package org.reidhdfs.placement.core;

import java.util.Arrays;

/**
 * A consistent-hash ring (the paper's "hash loop") with virtual nodes.
 *
 * <p>An item with weight {@code w} gets {@code round(vnodes * w / unitWeight)} points (at least
 * one); a key belongs to the first point clockwise from its hash, and its preference order is the
 * distinct owners met walking on. Points are derived from item names only, so adding an item
 * inserts points without moving anyone else's.
 */
final class HashRing {
  /** Low bits of each point hold its owner, so that one primitive sort orders both. */
  private static final int OWNER_BITS = 20;
  private static final long OWNER_MASK = (1L << OWNER_BITS) - 1;
  static final int MAX_ITEMS = 1 << OWNER_BITS;
  private static final long MAX_POINTS = 1L << 27;

  private final long[] points;
  private final int items;

  HashRing(long[] seeds, double[] weights, double unitWeight, int vnodes) {
    if (vnodes < 1) {
      throw new PlacementException("virtual nodes per node must be >= 1, got " + vnodes);
    }
    if (seeds.length > MAX_ITEMS) {
      throw new PlacementException(
          "a ring holds at most " + MAX_ITEMS + " items, got " + seeds.length);
    }
    items = seeds.length;
    long[] counts = new long[items];
    long total = 0;
    for (int i = 0; i < items; i++) {
      counts[i] = Math.max(1, Math.round(vnodes * weights[i] / unitWeight));
      total += counts[i];
    }
    if (total > MAX_POINTS) {
      throw new PlacementException(
          "ring would need " + total + " points (more than " + MAX_POINTS
              + "); lower the virtual nodes per node (" + vnodes + ")");
    }
    points = new long[(int) total];
    int p = 0;
    for (int i = 0; i < items; i++) {
      for (long v = 0; v < counts[i]; v++) {
        points[p++] = (KeyHash.derive(seeds[i], v) & ~OWNER_MASK) | i;
      }
    }
    Arrays.sort(points);
  }

  Cursor cursor(long key) {
    return new Cursor(key);
  }

  /** Distinct owners clockwise from a key. */
  final class Cursor {
    private final long[] seen = new long[(items + 63) >>> 6];
    private int position;
    private int steps;
    private int yielded;

    private Cursor(long key) {
      int found = Arrays.binarySearch(points, key & ~OWNER_MASK);
      int insertion = found >= 0 ? found : -found - 1;
      position = insertion == points.length ? 0 : insertion;
    }

    /** The next distinct owner, or -1 once every item was yielded. */
    int next() {
      while (yielded < items && steps < points.length) {
        int owner = (int) (points[position] & OWNER_MASK);
        position = position + 1 == points.length ? 0 : position + 1;
        steps++;
        long bit = 1L << (owner & 63);
        if ((seen[owner >>> 6] & bit) == 0) {
          seen[owner >>> 6] |= bit;
          yielded++;
          return owner;
        }
      }
      return -1;
    }
  }
}
