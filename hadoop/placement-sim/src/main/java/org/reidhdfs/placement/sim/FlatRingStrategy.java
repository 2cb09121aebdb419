package org.reidhdfs.placement.sim;

import org.reidhdfs.placement.core.NodeCursor;
import org.reidhdfs.placement.core.RingPlacement;
import org.reidhdfs.placement.core.Topology;

/**
 * Plain consistent hashing without rack awareness (the textbook hash loop): a block's replicas are
 * the first distinct nodes clockwise from its hash on one ring of all nodes. Shown because it
 * balances and moves well yet loses blocks when a rack fails.
 */
final class FlatRingStrategy implements Strategy {
  private static final String ONE_RACK = "/all";
  private final int vnodes;

  FlatRingStrategy(int vnodes) {
    this.vnodes = vnodes;
  }

  @Override
  public String name() {
    return "flat-ring";
  }

  @Override
  public boolean deterministic() {
    return true;
  }

  @Override
  public Placement place(Cluster cluster, Workload workload, int replication) {
    long start = System.nanoTime();
    Topology real = cluster.topology;
    Topology.Builder builder = Topology.builder();
    for (int n = 0; n < real.nodeCount(); n++) {
      builder.addNode(ONE_RACK, real.nodeName(n), real.nodeWeight(n));
    }
    // One rack keeps the nodes in the same order, so flat indices are the cluster's indices.
    Topology flat = builder.build();
    RingPlacement ring = new RingPlacement(flat, vnodes);
    int[] replicas = new int[workload.blockCount * replication];
    for (int b = 0; b < workload.blockCount; b++) {
      NodeCursor nodes = ring.nodes(0, workload.blockKey[b]);
      for (int i = 0; i < replication; i++) {
        int node = nodes.next();
        replicas[b * replication + i] = cluster.globalId[node];
      }
    }
    return new Placement(replicas, System.nanoTime() - start);
  }
}
