package org.reidhdfs.placement.core;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Balance of first choices over 100 nodes against the noise floor of a perfect hash,
 * {@code 1 + sqrt(2 ln n * n / m)}: HRW reaches it without virtual nodes, a ring needs many.
 */
class BalanceTest {
  private static final int NODES = 100;
  private static final int KEYS = 100_000;
  private static final double FLOOR = 1 + Math.sqrt(2 * Math.log(NODES) * NODES / KEYS);

  private static double maxOverMean(PlacementAlgorithm placement) {
    int[] counts = new int[placement.topology().nodeCount()];
    for (int i = 0; i < KEYS; i++) {
      counts[Topologies.topNode(placement, Topologies.key(i))]++;
    }
    int max = 0;
    for (int c : counts) {
      max = Math.max(max, c);
    }
    return max / ((double) KEYS / counts.length);
  }

  @Test
  void rendezvousIsAtTheNoiseFloorWithoutVirtualNodes() {
    double balance = maxOverMean(new RendezvousPlacement(Topologies.uniform(10, 10)));
    assertTrue(balance <= FLOOR + 0.03, "HRW max/mean " + balance + " vs floor " + FLOOR);
  }

  @Test
  void ringNeedsManyVirtualNodesToApproachTheFloor() {
    Topology topology = Topologies.uniform(10, 10);
    double few = maxOverMean(new RingPlacement(topology, 10));
    double many = maxOverMean(new RingPlacement(topology, 1000));
    assertTrue(few > 1.3, "ring with 10 virtual nodes should be visibly unbalanced: " + few);
    assertTrue(many <= FLOOR + 0.08, "ring with 1000 virtual nodes: " + many + " vs " + FLOOR);
  }
}
