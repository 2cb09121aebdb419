package org.reidhdfs.placement.core;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LoadCapTest {
  private final LoadCap cap = new LoadCap(0.1, 0.05);

  @Test
  void shedsLowPrioritiesFirstBetweenTheSoftAndHardBounds() {
    assertTrue(cap.admits(1.04, 0.001), "below 1 + eps/2 everything is taken");
    assertTrue(cap.admits(1.075, 0.6));
    assertFalse(cap.admits(1.075, 0.4), "half way, the lower half of priorities is shed");
    assertFalse(cap.admits(1.1, 0.999), "at 1 + eps nothing is taken");
    assertTrue(LoadCap.NONE.admits(5.0, 0.0));
  }

  @Test
  void utilisationWithinTheMinimumGapIsNeverCapped() {
    assertTrue(cap.admitsUtilization(0.02, 0.01, 0.0), "double the mean, but only 1% of disk");
    assertFalse(cap.admitsUtilization(0.70, 0.50, 0.99));
  }

  @Test
  void priorityIsDeterministicAndInTheOpenUnitInterval() {
    for (long key = 0; key < 1000; key++) {
      double p = LoadCap.priority(key);
      assertTrue(p > 0 && p < 1);
      assertTrue(p == LoadCap.priority(key));
    }
  }

  /**
   * Heavy-tailed groups on 8 racks: without a cap their homes skew rack loads; with it no rack
   * ends above {@code 1 + eps} of the mean (plus one unit).
   */
  @Test
  void capBoundsRackLoadUnderHeavyGroups() {
    Topology topology = Topologies.uniform(8, 4);
    RendezvousPlacement hrw = new RendezvousPlacement(topology);
    double uncapped = rackMaxOverMean(hrw, topology, LoadCap.NONE);
    double capped = rackMaxOverMean(hrw, topology, new LoadCap(0.1, 0));
    assertTrue(uncapped > 1.15, "heavy groups should skew racks without a cap: " + uncapped);
    assertTrue(capped <= 1.101, "cap at eps 0.1 exceeded: " + capped);
  }

  private static double rackMaxOverMean(PlacementAlgorithm placement, Topology topology,
      LoadCap cap) {
    long[] rackLoad = new long[topology.rackCount()];
    long[] nodeLoad = new long[topology.nodeCount()];
    long[] total = {0};
    double[] priority = {0};
    ReplicaPlanner.Admission admission =
        new ReplicaPlanner.Admission() {
          @Override
          public boolean rackOpen(int rack) {
            return cap.admitsUnit(rackLoad[rack], topology.rackWeight(rack), total[0],
                topology.totalRackWeight(), priority[0]);
          }

          @Override
          public boolean tryPlace(int node) {
            if (!cap.admitsUnit(nodeLoad[node], topology.nodeWeight(node), total[0],
                topology.totalRackWeight(), priority[0])) {
              return false;
            }
            nodeLoad[node]++;
            rackLoad[topology.rackOf(node)]++;
            total[0]++;
            return true;
          }
        };
    // 400 groups sized 1000/rank blocks, written interleaved (block i of every group in turn).
    int groups = 400;
    for (int i = 0; i < 1000; i++) {
      for (int g = 1; g <= groups; g++) {
        if (i < 1000 / g) {
          long group = Topologies.key(g);
          long block = KeyHash.derive(group, i);
          priority[0] = LoadCap.priority(block);
          ReplicaPlanner.plan(placement, placement.rackOrder(group), block, 3, new int[0], 2,
              admission);
        }
      }
    }
    long max = 0;
    for (long load : rackLoad) {
      max = Math.max(max, load);
    }
    return max / ((double) total[0] / rackLoad.length);
  }
}
