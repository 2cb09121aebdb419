package org.reidhdfs.placement.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TopologyTest {
  @Test
  void rackWeightIsTheSumOfItsNodes() {
    Topology topology =
        Topology.builder().addNode("/a", "n1", 2).addNode("/b", "n2", 1).addNode("/a", "n3", 3)
            .build();
    assertEquals(5, topology.rackWeight(topology.rackIndex("/a")));
    assertEquals(5, topology.rackCapacity(topology.rackIndex("/a")));
    assertEquals(6, topology.totalWeight());
    assertEquals(6, topology.totalRackWeight());
    assertEquals(-1, topology.rackIndex("/missing"));
  }

  @Test
  void racksKeepTheirWeightWhileCapacityDriftsWithinTheTolerance() {
    Topology before = Topologies.uniform(3, 4);
    Topology.Builder builder = Topology.builder();
    for (int n = 0; n < before.nodeCount(); n++) {
      String rack = before.rackName(before.rackOf(n));
      if (!before.nodeName(n).equals("r2n0") && !before.nodeName(n).equals("r2n1")) {
        builder.addNode(rack, before.nodeName(n), 1.0);
      }
    }
    builder.addNode("/rack0", "joined", 1.0).addNode("/rack9", "new", 1.0);
    Topology after = builder.build().keepRackWeights(before, 0.25);
    assertEquals(4, after.rackWeight(after.rackIndex("/rack0")), "+25%: kept");
    assertEquals(5, after.rackCapacity(after.rackIndex("/rack0")));
    assertEquals(4, after.rackWeight(after.rackIndex("/rack1")));
    assertEquals(2, after.rackWeight(after.rackIndex("/rack2")), "-50%: reweighed");
    assertEquals(1, after.rackWeight(after.rackIndex("/rack9")), "a new rack weighs its capacity");
    assertEquals(11, after.totalRackWeight());
    assertEquals(12, after.totalWeight());
    assertThrows(PlacementException.class, () -> after.keepRackWeights(before, -1));
  }

  @Test
  void rejectsWhatNoPlacementCouldUse() {
    PlacementException duplicate = assertThrows(PlacementException.class,
        () -> Topology.builder().addNode("/a", "n1", 1).addNode("/b", "n1", 1));
    assertTrue(duplicate.getMessage().contains("n1"));
    assertThrows(PlacementException.class, () -> Topology.builder().addNode("/a", "n", 0));
    assertThrows(PlacementException.class,
        () -> Topology.builder().addNode("/a", "n", Double.NaN));
    assertThrows(PlacementException.class, () -> Topology.builder().build());
    assertThrows(PlacementException.class, () -> Algorithm.parse("crush", "test.key"));
  }
}
