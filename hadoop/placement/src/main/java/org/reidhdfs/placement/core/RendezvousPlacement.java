package org.reidhdfs.placement.core;

/**
 * Two-level weighted rendezvous hashing, rack first and then node, as CRUSH's straw2 buckets do.
 *
 * <p>Every rack draws {@code ln(u) / weight} for a group key and every node of a rack draws
 * {@code ln(u) / capacity} for an item key; the highest draws win. Racks therefore win groups in
 * proportion to their weights and nodes win items in proportion to capacity, and changing one
 * rack's weight or one node's capacity only moves keys to or from that rack or node. No virtual
 * nodes are needed to reach a perfect hash's balance.
 */
public final class RendezvousPlacement implements PlacementAlgorithm {
  private final Topology topology;
  private final Rendezvous racks;
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
    int rackCount = topology.rackCount();
    long[] rackSeeds = new long[rackCount];
    double[] rackWeights = new double[rackCount];
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
      rackSeeds[r] = Seeds.rack(topology.rackName(r));
      rackWeights[r] = topology.rackWeight(r);
    }
    racks = new Rendezvous(rackSeeds, rackWeights);
  }

  @Override
  public Topology topology() {
    return topology;
  }

  @Override
  public int[] rackOrder(long groupKey) {
    double[] draws = new double[topology.rackCount()];
    for (int r = 0; r < draws.length; r++) {
      draws[r] = racks.draw(groupKey, r);
    }
    return Rendezvous.rankByDraw(draws);
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
