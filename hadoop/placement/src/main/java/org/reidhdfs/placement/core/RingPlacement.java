package org.reidhdfs.placement.core;

/**
 * The paper's hash loop made rack-aware: a consistent-hash ring of racks for group keys, and in
 * each rack a ring of its nodes for item keys. Racks and nodes get {@code vnodes} virtual nodes
 * per mean node weight, so shares follow rack weights and node capacities, and a rack ring is as
 * fine as one ring of all nodes would be.
 *
 * <p>Walking clockwise from a group's position on the rack ring meets racks in preference order;
 * walking from an item's position on a rack's ring meets that rack's nodes in preference order.
 */
public final class RingPlacement implements PlacementAlgorithm {
  private final Topology topology;
  private final HashRing racks;
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
    int rackCount = topology.rackCount();
    long[] rackSeeds = new long[rackCount];
    double[] rackWeights = new double[rackCount];
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
      rackSeeds[r] = Seeds.rack(topology.rackName(r));
      rackWeights[r] = topology.rackWeight(r);
    }
    racks = new HashRing(rackSeeds, rackWeights, unitWeight, vnodes);
  }

  @Override
  public Topology topology() {
    return topology;
  }

  @Override
  public int[] rackOrder(long groupKey) {
    int[] order = new int[topology.rackCount()];
    HashRing.Cursor cursor = racks.cursor(groupKey);
    for (int i = 0; i < order.length; i++) {
      order[i] = cursor.next();
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
