package org.reidhdfs.placement.sim;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.reidhdfs.placement.core.KeyHash;

/**
 * Blocks in groups with heavy-tailed sizes, in the order they are written.
 *
 * <p>Group sizes are drawn independently from a Zipf law truncated at {@code maxGroup} blocks
 * until they add up to the block count (identities have a few tracklets each, some have very
 * many). Blocks of all groups are interleaved at random, as concurrent ingest writes them; the
 * order matters only to the bounded-load cap, which sees loads as they grow.
 */
final class Workload {
  final int blockCount;
  final int groupCount;
  /** Blocks per group. */
  final int[] groupSize;
  /** Group key of each group. */
  final long[] groupKey;
  /** Group of each block, in write order. */
  final int[] blockGroup;
  /** Item key of each block, in write order. */
  final long[] blockKey;

  private Workload(int[] groupSize, long[] groupKey, int[] blockGroup, long[] blockKey) {
    this.groupSize = groupSize;
    this.groupKey = groupKey;
    this.blockGroup = blockGroup;
    this.blockKey = blockKey;
    this.blockCount = blockGroup.length;
    this.groupCount = groupSize.length;
  }

  static Workload zipf(int blocks, double exponent, int maxGroup, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] cdf = new double[maxGroup];
    double sum = 0;
    for (int k = 1; k <= maxGroup; k++) {
      sum += Math.pow(k, -exponent);
      cdf[k - 1] = sum;
    }
    int[] sizes = new int[16];
    int groups = 0;
    int placed = 0;
    while (placed < blocks) {
      int found = Arrays.binarySearch(cdf, random.nextDouble() * sum);
      int size = Math.min((found >= 0 ? found : -found - 1) + 1, blocks - placed);
      if (groups == sizes.length) {
        sizes = Arrays.copyOf(sizes, groups * 2);
      }
      sizes[groups++] = size;
      placed += size;
    }
    sizes = Arrays.copyOf(sizes, groups);

    long[] keys = new long[groups];
    int[] blockGroup = new int[blocks];
    long[] blockKey = new long[blocks];
    int b = 0;
    for (int g = 0; g < groups; g++) {
      keys[g] = KeyHash.of("group-" + g);
      for (int i = 0; i < sizes[g]; i++) {
        blockGroup[b] = g;
        blockKey[b] = KeyHash.derive(keys[g], i);
        b++;
      }
    }
    for (int i = blocks - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int group = blockGroup[i];
      blockGroup[i] = blockGroup[j];
      blockGroup[j] = group;
      long key = blockKey[i];
      blockKey[i] = blockKey[j];
      blockKey[j] = key;
    }
    return new Workload(sizes, keys, blockGroup, blockKey);
  }

  int largestGroup() {
    return Arrays.stream(groupSize).max().orElse(0);
  }
}
