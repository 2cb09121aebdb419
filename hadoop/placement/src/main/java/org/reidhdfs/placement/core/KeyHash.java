package org.reidhdfs.placement.core;

import java.nio.charset.StandardCharsets;

/**
 * The 64-bit hashing shared by the NameNode policy and the simulator.
 *
 * <p>Placement must be identical in both and stable across JVMs and restarts, so nothing here
 * depends on {@code String.hashCode}, object identity or a random seed.
 */
public final class KeyHash {
  private static final long FNV_OFFSET = 0xcbf29ce484222325L;
  private static final long FNV_PRIME = 0x100000001b3L;
  /** 2^64 / golden ratio: spreads consecutive counters (virtual node numbers) apart. */
  private static final long GOLDEN = 0x9e3779b97f4a7c15L;

  private KeyHash() {}

  /**
   * Hash of a string's UTF-8 bytes: FNV-1a over the bytes, then a full avalanche, because FNV
   * alone leaves short keys that differ in their last character close together.
   */
  public static long of(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    long h = FNV_OFFSET;
    for (byte b : bytes) {
      h ^= b & 0xff;
      h *= FNV_PRIME;
    }
    return mix(h ^ bytes.length);
  }

  /** The splitmix64 finalizer: every input bit affects every output bit. */
  public static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /** Hash of a key combined with an item's seed (both already well mixed). */
  public static long pair(long key, long seed) {
    return mix(key ^ seed);
  }

  /** Hash of the {@code index}-th derived value of a seed (virtual nodes, block numbers). */
  public static long derive(long seed, long index) {
    return mix(seed + GOLDEN * (index + 1));
  }

  /** Maps a hash to the open interval (0, 1), so that its logarithm is always finite. */
  public static double unit(long hash) {
    return ((hash >>> 11) + 0.5) * 0x1.0p-53;
  }
}
