package org.reidhdfs.placement.sim;

import org.reidhdfs.placement.core.Algorithm;
import org.reidhdfs.placement.core.LoadCap;
import org.reidhdfs.placement.core.PlacementAlgorithm;
import org.reidhdfs.placement.core.ReplicaPlanner;
import org.reidhdfs.placement.core.Topology;

/**
 * The policy's own placement: the same {@link ReplicaPlanner} and hash classes the NameNode plug-in
 * runs, with an admission that counts replicas and applies the bounded-load cap to racks (as the
 * plug-in does; evening out nodes inside a rack is left to hashing and HDFS's Balancer).
 */
final class HashStrategy implements Strategy {
  private final String name;
  private final Algorithm algorithm;
  private final int vnodes;
  private final LoadCap cap;

  HashStrategy(String name, Algorithm algorithm, int vnodes, LoadCap cap) {
    this.name = name;
    this.algorithm = algorithm;
    this.vnodes = vnodes;
    this.cap = cap;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public boolean deterministic() {
    return true;
  }

  @Override
  public Placement place(Cluster cluster, Workload workload, int replication) {
    long start = System.nanoTime();
    Topology topology = cluster.topology;
    PlacementAlgorithm placement = algorithm.create(topology, vnodes);
    int maxPerRack = Strategy.maxPerRack(replication, topology.rackCount());
    int[][] rackOrders = new int[workload.groupCount][];
    Counter counter = new Counter(topology, cap);
    int[] replicas = new int[workload.blockCount * replication];
    int[] none = new int[0];
    for (int b = 0; b < workload.blockCount; b++) {
      int group = workload.blockGroup[b];
      int[] order = rackOrders[group];
      if (order == null) {
        order = placement.rackOrder(workload.groupKey[group]);
        rackOrders[group] = order;
      }
      counter.startBlock(replicas, b * replication, LoadCap.priority(workload.blockKey[b]));
      int placed =
          ReplicaPlanner.plan(
              placement, order, workload.blockKey[b], replication, none, maxPerRack, counter);
      if (placed < replication) {
        // The plug-in hands what the capped layout cannot place to HDFS's default policy; here
        // the same layout places it without the cap, a deterministic stand-in.
        int[] existing = new int[placed];
        for (int i = 0; i < placed; i++) {
          existing[i] = topology.rackOf(replicas[b * replication + i]);
        }
        counter.uncapped = true;
        placed += ReplicaPlanner.plan(placement, order, workload.blockKey[b], replication - placed,
            existing, maxPerRack, counter);
        counter.uncapped = false;
      }
      if (placed < replication) {
        throw new IllegalStateException(
            name + ": block " + b + " got " + placed + " of " + replication
                + " replicas; the topology has too few racks or nodes");
      }
    }
    for (int i = 0; i < replicas.length; i++) {
      replicas[i] = cluster.globalId[replicas[i]];
    }
    return new Placement(replicas, System.nanoTime() - start);
  }

  /**
   * Replica counts per rack for the cap, and where the current block's replicas go; refuses a
   * node that already holds the block, as the plug-in's admission does.
   */
  private static final class Counter implements ReplicaPlanner.Admission {
    private final Topology topology;
    private final LoadCap cap;
    private final long[] rackLoad;
    private long total;
    private int[] out;
    private int start;
    private int next;
    private double priority;
    private boolean uncapped;

    Counter(Topology topology, LoadCap cap) {
      this.topology = topology;
      this.cap = cap;
      this.rackLoad = new long[topology.rackCount()];
    }

    void startBlock(int[] out, int offset, double priority) {
      this.out = out;
      this.start = offset;
      this.next = offset;
      this.priority = priority;
    }

    @Override
    public boolean rackOpen(int rack) {
      return uncapped || cap.admitsUnit(
          rackLoad[rack], topology.rackWeight(rack), total, topology.totalRackWeight(), priority);
    }

    @Override
    public boolean tryPlace(int node) {
      for (int i = start; i < next; i++) {
        if (out[i] == node) {
          return false;
        }
      }
      rackLoad[topology.rackOf(node)]++;
      total++;
      out[next++] = node;
      return true;
    }
  }
}
