package org.reidhdfs.placement.core;

/** Small topologies for the core tests. */
final class Topologies {
  private Topologies() {}

  /** {@code racks} racks of {@code nodes} nodes, weight 1, named r{rack}n{node}. */
  static Topology uniform(int racks, int nodes) {
    Topology.Builder builder = Topology.builder();
    for (int r = 0; r < racks; r++) {
      for (int n = 0; n < nodes; n++) {
        builder.addNode("/rack" + r, "r" + r + "n" + n, 1.0);
      }
    }
    return builder.build();
  }

  /** The first choice of a key: the first node of its home rack, ranked by the key itself. */
  static int topNode(PlacementAlgorithm algorithm, long key) {
    return algorithm.nodes(algorithm.rackOrder(key)[0], key).next();
  }

  static long key(int i) {
    return KeyHash.of("key-" + i);
  }
}
