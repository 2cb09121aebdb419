package org.reidhdfs.placement.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Properties both algorithms must have: determinism, full orders, shares, minimal movement. */
class PlacementAlgorithmTest {
  private static final int KEYS = 60_000;

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void sameNamesGiveSamePlacementWhateverTheBuildOrder(Algorithm algorithm) {
    Topology forward = Topologies.uniform(4, 5);
    Topology.Builder reversed = Topology.builder();
    for (int n = forward.nodeCount() - 1; n >= 0; n--) {
      reversed.addNode(forward.rackName(forward.rackOf(n)), forward.nodeName(n), 1.0);
    }
    Topology backward = reversed.build();
    PlacementAlgorithm a = algorithm.create(forward, 200);
    PlacementAlgorithm b = algorithm.create(backward, 200);
    for (int i = 0; i < 500; i++) {
      long key = Topologies.key(i);
      int[] racksA = a.rackOrder(key);
      int[] racksB = b.rackOrder(key);
      for (int j = 0; j < racksA.length; j++) {
        assertEquals(forward.rackName(racksA[j]), backward.rackName(racksB[j]));
      }
      assertEquals(
          forward.nodeName(a.nodes(racksA[0], key).next()),
          backward.nodeName(b.nodes(racksB[0], key).next()));
    }
    assertArrayEquals(a.rackOrder(42L), algorithm.create(forward, 200).rackOrder(42L));
  }

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void ordersListEveryRackAndEveryNodeOnce(Algorithm algorithm) {
    Topology topology = Topologies.uniform(5, 4);
    PlacementAlgorithm placement = algorithm.create(topology, 50);
    for (int i = 0; i < 200; i++) {
      long key = Topologies.key(i);
      Set<Integer> racks = new HashSet<>();
      for (int rack : placement.rackOrder(key)) {
        assertTrue(racks.add(rack));
        Set<Integer> nodes = new HashSet<>();
        NodeCursor cursor = placement.nodes(rack, key);
        for (int node = cursor.next(); node != NodeCursor.NONE; node = cursor.next()) {
          assertEquals(rack, topology.rackOf(node));
          assertTrue(nodes.add(node));
        }
        assertEquals(4, nodes.size());
      }
      assertEquals(5, racks.size());
    }
  }

  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void sharesFollowCapacity(Algorithm algorithm) {
    Topology.Builder builder = Topology.builder();
    double[] weights = {1, 2, 3, 4};
    for (int r = 0; r < 4; r++) {
      for (int n = 0; n < 3; n++) {
        builder.addNode("/rack" + r, "r" + r + "n" + n, weights[r]);
      }
    }
    Topology topology = builder.build();
    PlacementAlgorithm placement = algorithm.create(topology, 1000);
    int[] homes = new int[4];
    for (int i = 0; i < KEYS; i++) {
      homes[placement.rackOrder(Topologies.key(i))[0]]++;
    }
    for (int r = 0; r < 4; r++) {
      double expected = KEYS * topology.rackWeight(r) / topology.totalRackWeight();
      assertEquals(expected, homes[r], 0.06 * expected, "rack " + r + " homes");
    }
  }

  /**
   * A node that joins takes only keys it now wins and one that leaves gives up only its own, all
   * inside their rack, because racks keep their weights within the reweigh tolerance.
   */
  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void addingOrRemovingANodeMovesOnlyItsOwnKeysInsideItsRack(Algorithm algorithm) {
    Topology base = Topologies.uniform(4, 5);
    Topology plus = changed(base, "joined", null).keepRackWeights(base, 0.25);
    Topology minus = changed(base, null, "r2n3").keepRackWeights(base, 0.25);
    PlacementAlgorithm before = algorithm.create(base, 1000);
    PlacementAlgorithm after = algorithm.create(plus, 1000);
    PlacementAlgorithm without = algorithm.create(minus, 1000);
    int movedIn = 0;
    int movedOut = 0;
    for (int i = 0; i < KEYS; i++) {
      long key = Topologies.key(i);
      String old = base.nodeName(Topologies.topNode(before, key));
      String grownTop = plus.nodeName(Topologies.topNode(after, key));
      if (!grownTop.equals(old)) {
        assertEquals("joined", grownTop, "key " + i + " moved between old nodes");
        movedIn++;
      }
      String shrunkTop = minus.nodeName(Topologies.topNode(without, key));
      if (!shrunkTop.equals(old)) {
        assertEquals("r2n3", old, "key " + i + " moved although its node stayed");
        assertTrue(shrunkTop.startsWith("r2"), "key " + i + " left its rack");
        movedOut++;
      }
    }
    double idealIn = KEYS / 4.0 / 6.0;
    double idealOut = KEYS / 20.0;
    assertEquals(idealIn, movedIn, 0.2 * idealIn);
    assertEquals(idealOut, movedOut, 0.2 * idealOut);
  }

  /** A rack reweighed (tolerance 0) draws groups only towards itself, as straw2 promises. */
  @ParameterizedTest
  @EnumSource(Algorithm.class)
  void reweighingARackMovesGroupHomesOnlyToThatRack(Algorithm algorithm) {
    Topology base = Topologies.uniform(4, 5);
    Topology plus = changed(base, "joined", null).keepRackWeights(base, 0);
    PlacementAlgorithm before = algorithm.create(base, 1000);
    PlacementAlgorithm after = algorithm.create(plus, 1000);
    int moved = 0;
    for (int i = 0; i < KEYS; i++) {
      long key = Topologies.key(i);
      String oldHome = base.rackName(before.rackOrder(key)[0]);
      String newHome = plus.rackName(after.rackOrder(key)[0]);
      if (!newHome.equals(oldHome)) {
        assertEquals("/rack1", newHome, "key " + i + " moved between unchanged racks");
        moved++;
      }
    }
    double expected = KEYS * (6.0 / 21 - 5.0 / 20);
    assertEquals(expected, moved, 0.25 * expected);
  }

  /** {@code base} plus a node of weight 1 on /rack1 and/or minus one node. */
  private static Topology changed(Topology base, String joined, String removed) {
    Topology.Builder builder = Topology.builder();
    for (int n = 0; n < base.nodeCount(); n++) {
      if (!base.nodeName(n).equals(removed)) {
        builder.addNode(base.rackName(base.rackOf(n)), base.nodeName(n), 1.0);
      }
    }
    if (joined != null) {
      builder.addNode("/rack1", joined, 1.0);
    }
    return builder.build();
  }
}
