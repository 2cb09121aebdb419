package org.reidhdfs.placement.core;

/**
 * The paper's hash loop made rack-aware: one consistent-hash ring of all nodes, each with
 * {@code vnodes} virtual nodes per unit of mean node weight (so shares follow capacity).
 *
 * <p>Walking clockwise from a group's position meets nodes in preference order; racks are ranked
 * by the first of their nodes met, and a rack's nodes by the order met. Each rack also keeps its
 * own ring of the same points, so walking it visits that rack's nodes in the same order without
 * stepping over other racks' points.
 */
public final class RingPlacement implements PlacementAlgorithm {
  private final Topology topology;
  private final HashRing allNodes;
  private final HashRing[] nodesByRack;
  private final int[][] rackMembers;

  public RingPlacement(Topology topology, int vnodes) {
    this.topology = topology;
    double unitWeight = topology.totalWeight() / topology.nodeCount();
    int nodeCount = topology.nodeCount();
    long[] seeds = new long[nodeCount];
    double[] weights = new double[nodeCount];
    for (int n = 0; n < nodeCount; n++) {
      seeds[n] = Seeds.node(topology.nodeName(n));
      weights[n] = topology.nodeWeight(n);
    }
    allNodes = new HashRing(seeds, weights, unitWeight, vnodes);
    int rackCount = topology.rackCount();
    nodesByRack = new HashRing[rackCount];
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
      nodesByRack[r] = new HashRing(memberSeeds, memberWeights, unitWeight, vnodes);
    }
  }

  @Override
  public Topology topology() {
    return topology;
  }

  @Override
  public int[] rackOrder(long groupKey) {
    int rackCount = topology.rackCount();
    int[] order = new int[rackCount];
    boolean[] seen = new boolean[rackCount];
    int found = 0;
    HashRing.Cursor cursor = allNodes.cursor(groupKey);
    while (found < rackCount) {
      int rack = topology.rackOf(cursor.next());
      if (!seen[rack]) {
        seen[rack] = true;
        order[found++] = rack;
      }
    }
    return order;
  }

  @Override
  public NodeCursor nodes(int rack, long itemKey) {
    HashRing.Cursor cursor = nodesByRack[rack].cursor(itemKey);
    int[] members = rackMembers[rack];
    return () -> {
      int local = cursor.next();
      return local < 0 ? NodeCursor.NONE : members[local];
    };
  }
}
