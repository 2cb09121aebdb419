package org.reidhdfs.placement.core;

/**
 * A deterministic two-level map from keys to a topology: a group key picks an order of racks
 * (the first is its home), and an item key (a block or file) picks an order of nodes inside one
 * rack, so that a group's blocks share racks but spread over the racks' nodes.
 *
 * <p>Implementations are immutable and safe to share between threads.
 */
public interface PlacementAlgorithm {
  Topology topology();

  /** Every rack of the topology, most preferred first, for one group. */
  int[] rackOrder(long groupKey);

  /** The nodes of {@code rack}, most preferred first, for one item. */
  NodeCursor nodes(int rack, long itemKey);
}
