package org.reidhdfs.placement.sim;

import java.util.Arrays;
import org.reidhdfs.placement.core.Topology;

/**
 * The measures of one placement: balance, co-location and rack-failure loss.
 *
 * <p>Balance is replicas per unit of weight, max over mean (1.0 is perfect) with its coefficient of
 * variation. Co-location of a group is the largest share of its blocks that have a replica on one
 * rack; reported block-weighted (mean) and as the 5th percentile over blocks. Loss counts blocks
 * with no replica left when the worst single rack, or the worst pair of racks, fails.
 */
record LayoutMetrics(
    double nodeMaxOverMean,
    double nodeCv,
    double rackMaxOverMean,
    double rackCv,
    double colocation,
    double colocationP5,
    long rackLossBlocks,
    long rackPairLossBlocks,
    double rackPairLossGroupShare) {

  static LayoutMetrics of(Cluster cluster, Workload workload, int replication, int[] replicas) {
    Topology topology = cluster.topology;
    int racks = topology.rackCount();
    int[] localOf = new int[cluster.globalIdCount()];
    Arrays.fill(localOf, -1);
    for (int n = 0; n < topology.nodeCount(); n++) {
      localOf[cluster.globalId[n]] = n;
    }

    long[] nodeLoad = new long[topology.nodeCount()];
    long[] rackLoad = new long[racks];
    int[] groupRack = new int[workload.groupCount * racks];
    long[] singleRack = new long[racks];
    long[] rackPair = new long[racks * racks];
    int[] blockRacks = new int[replication];
    for (int b = 0; b < workload.blockCount; b++) {
      int distinct = 0;
      for (int i = 0; i < replication; i++) {
        int node = localOf[replicas[b * replication + i]];
        nodeLoad[node]++;
        int rack = topology.rackOf(node);
        rackLoad[rack]++;
        boolean seen = false;
        for (int j = 0; j < distinct; j++) {
          seen |= blockRacks[j] == rack;
        }
        if (!seen) {
          blockRacks[distinct++] = rack;
          groupRack[workload.blockGroup[b] * racks + rack]++;
        }
      }
      if (distinct == 1) {
        singleRack[blockRacks[0]]++;
      } else if (distinct == 2) {
        int a = Math.min(blockRacks[0], blockRacks[1]);
        int c = Math.max(blockRacks[0], blockRacks[1]);
        rackPair[a * racks + c]++;
      }
    }

    double[] nodeShare = new double[nodeLoad.length];
    for (int n = 0; n < nodeShare.length; n++) {
      nodeShare[n] = nodeLoad[n] / topology.nodeWeight(n);
    }
    double[] rackShare = new double[racks];
    for (int r = 0; r < racks; r++) {
      rackShare[r] = rackLoad[r] / topology.rackCapacity(r);
    }

    int worstA = 0;
    int worstB = racks > 1 ? 1 : 0;
    long worstPair = -1;
    for (int a = 0; a < racks; a++) {
      for (int c = a + 1; c < racks; c++) {
        long lost = rackPair[a * racks + c] + singleRack[a] + singleRack[c];
        if (lost > worstPair) {
          worstPair = lost;
          worstA = a;
          worstB = c;
        }
      }
    }
    double pairGroups = groupsWithin(cluster, workload, replication, replicas, localOf, worstA,
        worstB);

    double[] colocation = new double[workload.groupCount];
    for (int g = 0; g < workload.groupCount; g++) {
      int best = 0;
      for (int r = 0; r < racks; r++) {
        best = Math.max(best, groupRack[g * racks + r]);
      }
      colocation[g] = (double) best / workload.groupSize[g];
    }
    return new LayoutMetrics(
        maxOverMean(nodeShare),
        cv(nodeShare),
        maxOverMean(rackShare),
        cv(rackShare),
        weightedMean(colocation, workload.groupSize),
        weightedPercentile(colocation, workload.groupSize, 0.05),
        Arrays.stream(singleRack).max().orElse(0),
        Math.max(worstPair, 0),
        pairGroups);
  }

  /** Share of groups that lose at least one block when racks {@code a} and {@code b} fail. */
  private static double groupsWithin(
      Cluster cluster, Workload workload, int replication, int[] replicas, int[] localOf, int a,
      int b) {
    Topology topology = cluster.topology;
    boolean[] hit = new boolean[workload.groupCount];
    for (int block = 0; block < workload.blockCount; block++) {
      boolean lost = true;
      for (int i = 0; i < replication && lost; i++) {
        int rack = topology.rackOf(localOf[replicas[block * replication + i]]);
        lost = rack == a || rack == b;
      }
      hit[workload.blockGroup[block]] |= lost;
    }
    int count = 0;
    for (boolean h : hit) {
      count += h ? 1 : 0;
    }
    return (double) count / workload.groupCount;
  }

  static double maxOverMean(double[] values) {
    double sum = 0;
    double max = Double.NEGATIVE_INFINITY;
    for (double v : values) {
      sum += v;
      max = Math.max(max, v);
    }
    return max / (sum / values.length);
  }

  static double cv(double[] values) {
    double mean = Arrays.stream(values).average().orElse(0);
    double squares = 0;
    for (double v : values) {
      squares += (v - mean) * (v - mean);
    }
    return Math.sqrt(squares / values.length) / mean;
  }

  static double weightedMean(double[] values, int[] weights) {
    double sum = 0;
    double total = 0;
    for (int i = 0; i < values.length; i++) {
      sum += values[i] * weights[i];
      total += weights[i];
    }
    return sum / total;
  }

  /** The value below which a fraction {@code q} of the total weight lies. */
  static double weightedPercentile(double[] values, int[] weights, double q) {
    Integer[] order = new Integer[values.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (x, y) -> Double.compare(values[x], values[y]));
    double total = 0;
    for (int w : weights) {
      total += w;
    }
    double cumulative = 0;
    for (int i : order) {
      cumulative += weights[i];
      if (cumulative >= q * total) {
        return values[i];
      }
    }
    return values[order[order.length - 1]];
  }

  /**
   * Fraction of replicas whose node differs between two placements of the same blocks, and the
   * avoidable part of it: moves other than onto an added node or off a removed one, i.e. between
   * nodes present in both clusters.
   */
  static double[] moved(int[] before, int[] after, int replication, int changedNode) {
    long moved = 0;
    long avoidable = 0;
    for (int b = 0; b < before.length; b += replication) {
      int movedHere = 0;
      int necessary = contains(before, b, replication, changedNode) ? 1 : 0;
      for (int i = 0; i < replication; i++) {
        int node = after[b + i];
        if (!contains(before, b, replication, node)) {
          movedHere++;
          necessary += node == changedNode ? 1 : 0;
        }
      }
      moved += movedHere;
      avoidable += Math.max(0, movedHere - necessary);
    }
    return new double[] {(double) moved / before.length, (double) avoidable / before.length};
  }

  private static boolean contains(int[] replicas, int offset, int replication, int node) {
    for (int j = 0; j < replication; j++) {
      if (replicas[offset + j] == node) {
        return true;
      }
    }
    return false;
  }
}
