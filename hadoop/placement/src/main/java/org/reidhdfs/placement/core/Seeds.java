package org.reidhdfs.placement.core;

/**
 * Item seeds for the hash functions, derived from names. Racks and nodes live in separate
 * namespaces so a rack and a node that happen to share a name still draw independently.
 */
final class Seeds {
  private Seeds() {}

  static long rack(String name) {
    return KeyHash.of("rack\u0000" + name);
  }

  static long node(String name) {
    return KeyHash.of("node\u0000" + name);
  }
}
