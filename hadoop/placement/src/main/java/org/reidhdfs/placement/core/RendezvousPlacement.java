package org.reidhdfs.placement.core;

import java.util.Arrays;

/**
 * Two-level weighted rendezvous hashing, rack first and then node, as CRUSH's straw2 buckets do.
 *
 * <p>Every node draws {@code ln(u) / capacity} for a key. A rack's draw for a group is its best
 * member's draw, which is distributed exactly like one straw2 draw with the rack's total capacity,
 * so racks win groups in proportion to capacity; inside a rack, nodes are ranked by their own
 * draws. Because both levels use the same per-node draws, a node that joins only takes keys it
 * now wins, at either level. No virtual nodes are needed to reach a perfect hash's balance.
 */
public final class RendezvousPlacement implements PlacementAlgorithm {
  private final Topology topology;
  private final Rendezvous allNodes;
  private final Rendezvous[] nodesByRack;
  private final int[][] rackMembers;

  public RendezvousPlacement(Topology topology) {
    this.topology = topology;
    int nodeCount = topology.nodeCount();
    long[] seeds = new long[nodeCount];
    double[] weights = new double[nodeCount];
    for (int n = 0; n < nodeCount; n++) {
      seeds[n] = Seeds.node(topology.nodeName(n));
      weights[n] = topology.nodeWeight(n);
    }
    allNodes = new Rendezvous(seeds, weights);
    int rackCount = topology.rackCount();
    nodesByRack = new Rendezvous[rackCount];
    rackMembers = new int[rackCount][];
    for (int r = 0; r < rackCount; r++) {
      int[] members = topology.nodesOfShared(r);
      rackMembers[r] = members;
      long[] memberSeeds = new long[members.length];
      double[] memberWeights = new double[members.length];
      for (int i = 0; i < members.length; i++) {
        memberSeeds[i] = seeds[members[i]];
        memberWeights[i] = weights[members[i]];
      }
      nodesByRack[r] = new Rendezvous(memberSeeds, memberWeights);
    }
  }

  @Override
  public Topology topology() {
    return topology;
  }

  @Override
  public int[] rackOrder(long groupKey) {
    int rackCount = topology.rackCount();
    double[] best = new double[rackCount];
    Arrays.fill(best, Double.NEGATIVE_INFINITY);
    for (int n = 0; n < topology.nodeCount(); n++) {
      int rack = topology.rackOf(n);
      best[rack] = Math.max(best[rack], allNodes.draw(groupKey, n));
    }
    return Rendezvous.rankByDraw(best);
  }

  @Override
  public NodeCursor nodes(int rack, long itemKey) {
    Rendezvous.Cursor cursor = nodesByRack[rack].cursor(itemKey);
    int[] members = rackMembers[rack];
    return () -> {
      int local = cursor.next();
      return local < 0 ? NodeCursor.NONE : members[local];
    };
  }
}
