package org.reidhdfs.placement.sim;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.reidhdfs.placement.core.Topology;

/**
 * HDFS's default for a writer outside the cluster: the first replica on a random node, the second
 * on a random node of another rack, the third on another node of the second's rack, further ones
 * anywhere with at most {@link Strategy#maxPerRack} per rack. Random choices are uniform over
 * nodes, as {@code NetworkTopology.chooseRandom} is.
 */
final class HdfsDefaultStrategy implements Strategy {
  private final long seed;

  HdfsDefaultStrategy(long seed) {
    this.seed = seed;
  }

  @Override
  public String name() {
    return "hdfs-default";
  }

  @Override
  public boolean deterministic() {
    return false;
  }

  @Override
  public Placement place(Cluster cluster, Workload workload, int replication) {
    long start = System.nanoTime();
    Topology topology = cluster.topology;
    SplittableRandom random = new SplittableRandom(seed);
    int nodes = topology.nodeCount();
    int maxPerRack = Strategy.maxPerRack(replication, topology.rackCount());
    int[] replicas = new int[workload.blockCount * replication];
    int[] perRack = new int[topology.rackCount()];
    for (int b = 0; b < workload.blockCount; b++) {
      int base = b * replication;
      Arrays.fill(perRack, 0);
      for (int i = 0; i < replication; i++) {
        int node;
        do {
          node = random.nextInt(nodes);
        } while (!acceptable(topology, replicas, base, i, node, perRack, maxPerRack));
        replicas[base + i] = node;
        perRack[topology.rackOf(node)]++;
      }
    }
    for (int i = 0; i < replicas.length; i++) {
      replicas[i] = cluster.globalId[replicas[i]];
    }
    return new Placement(replicas, System.nanoTime() - start);
  }

  private static boolean acceptable(
      Topology topology, int[] replicas, int base, int index, int node, int[] perRack, int max) {
    for (int i = 0; i < index; i++) {
      if (replicas[base + i] == node) {
        return false;
      }
    }
    int rack = topology.rackOf(node);
    return switch (index) {
      case 0 -> true;
      case 1 -> rack != topology.rackOf(replicas[base]);
      case 2 -> rack == topology.rackOf(replicas[base + 1]);
      default -> perRack[rack] < max;
    };
  }
}
