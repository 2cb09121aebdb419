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
    assertEquals(6, topology.totalWeight());
    assertEquals(-1, topology.rackIndex("/missing"));
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
