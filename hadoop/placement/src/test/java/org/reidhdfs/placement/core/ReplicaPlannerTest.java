package org.reidhdfs.placement.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;

/** The replica layout and its fallbacks, with an admission that records what it accepted. */
class ReplicaPlannerTest {
  private final Topology topology = Topologies.uniform(4, 3);
  private final PlacementAlgorithm hrw = new RendezvousPlacement(topology);

  /** Accepts nodes the predicate allows, except those already holding the block. */
  private static final class Recorder implements ReplicaPlanner.Admission {
    final List<Integer> placed = new ArrayList<>();
    private final IntPredicate nodeOk;
    private final IntPredicate rackOk;
    private final Set<Integer> holding;

    Recorder(IntPredicate nodeOk, IntPredicate rackOk, Set<Integer> holding) {
      this.nodeOk = nodeOk;
      this.rackOk = rackOk;
      this.holding = holding;
    }

    Recorder() {
      this(n -> true, r -> true, Set.of());
    }

    @Override
    public boolean rackOpen(int rack) {
      return rackOk.test(rack);
    }

    @Override
    public boolean tryPlace(int node) {
      if (holding.contains(node) || !nodeOk.test(node)) {
        return false;
      }
      placed.add(node);
      return true;
    }
  }

  private int rack(int node) {
    return topology.rackOf(node);
  }

  @Test
  void newBlockGetsReplicasOneAndThreeOnHomeRackAndTwoOnTheNextRack() {
    for (int i = 0; i < 300; i++) {
      long group = Topologies.key(i);
      int[] order = hrw.rackOrder(group);
      Recorder recorder = new Recorder();
      int placed = ReplicaPlanner.plan(hrw, order, group * 31 + 7, 3, new int[0], 2, recorder);
      assertEquals(3, placed);
      List<Integer> nodes = recorder.placed;
      assertEquals(order[0], rack(nodes.get(0)), "replica 1");
      assertEquals(order[1], rack(nodes.get(1)), "replica 2");
      assertEquals(order[0], rack(nodes.get(2)), "replica 3");
      assertNotEquals(nodes.get(0), nodes.get(2));
    }
  }

  @Test
  void replicationTwoUsesTwoRacksAndOneUsesTheHome() {
    int[] order = hrw.rackOrder(5L);
    Recorder two = new Recorder();
    assertEquals(2, ReplicaPlanner.plan(hrw, order, 9L, 2, new int[0], 1, two));
    assertEquals(order[0], rack(two.placed.get(0)));
    assertEquals(order[1], rack(two.placed.get(1)));
    Recorder one = new Recorder();
    assertEquals(1, ReplicaPlanner.plan(hrw, order, 9L, 1, new int[0], 1, one));
    assertEquals(order[0], rack(one.placed.get(0)));
  }

  @Test
  void extraReplicasGoToFurtherRacks() {
    int[] order = hrw.rackOrder(11L);
    Recorder recorder = new Recorder();
    assertEquals(5, ReplicaPlanner.plan(hrw, order, 3L, 5, new int[0], 2, recorder));
    Set<Integer> racks = new HashSet<>();
    recorder.placed.forEach(n -> racks.add(rack(n)));
    assertEquals(4, racks.size(), "two home replicas plus three on three other racks");
  }

  @Test
  void refusedNodeIsReplacedOnTheSameRack() {
    int[] order = hrw.rackOrder(21L);
    Recorder first = new Recorder();
    ReplicaPlanner.plan(hrw, order, 4L, 3, new int[0], 2, first);
    int refused = first.placed.get(0);
    Recorder second = new Recorder(n -> n != refused, r -> true, Set.of());
    assertEquals(3, ReplicaPlanner.plan(hrw, order, 4L, 3, new int[0], 2, second));
    assertFalse(second.placed.contains(refused));
    assertEquals(order[0], rack(second.placed.get(0)));
    assertEquals(order[0], rack(second.placed.get(2)));
  }

  @Test
  void closedHomeRackPassesTheGroupToTheNextRacks() {
    int[] order = hrw.rackOrder(33L);
    Recorder recorder = new Recorder(n -> true, r -> r != order[0], Set.of());
    assertEquals(3, ReplicaPlanner.plan(hrw, order, 8L, 3, new int[0], 2, recorder));
    assertEquals(order[1], rack(recorder.placed.get(0)), "replica 1 on the next rack");
    assertEquals(order[2], rack(recorder.placed.get(1)), "replica 2 on a rack without one");
    assertEquals(order[1], rack(recorder.placed.get(2)), "replica 3 joins replica 1");
  }

  @Test
  void reReplicationPutsTheLostHomeCopyBackOnTheHomeRack() {
    int[] order = hrw.rackOrder(44L);
    Recorder original = new Recorder();
    ReplicaPlanner.plan(hrw, order, 6L, 3, new int[0], 2, original);
    int lost = original.placed.get(0);
    int keptHome = original.placed.get(1);
    int remote = original.placed.get(2);
    Recorder repair =
        new Recorder(n -> n != lost, r -> true, Set.of(keptHome, remote));
    int[] existing = {rack(keptHome), rack(remote)};
    assertEquals(1, ReplicaPlanner.plan(hrw, order, 6L, 1, existing, 2, repair));
    int recreated = repair.placed.get(0);
    assertEquals(order[0], rack(recreated));
    assertFalse(Set.of(lost, keptHome, remote).contains(recreated));
  }

  @Test
  void homeRackWithoutRoomSendsTheCopyAlongTheRackOrderWithinTheRackLimit() {
    int[] order = hrw.rackOrder(55L);
    Set<Integer> homeNodes = new HashSet<>();
    for (int n : topology.nodesOf(order[0])) {
      homeNodes.add(n);
    }
    Recorder recorder = new Recorder(n -> !homeNodes.contains(n), r -> true, Set.of());
    assertEquals(3, ReplicaPlanner.plan(hrw, order, 2L, 3, new int[0], 2, recorder));
    int[] perRack = new int[topology.rackCount()];
    recorder.placed.forEach(n -> perRack[rack(n)]++);
    assertEquals(0, perRack[order[0]]);
    assertEquals(2, perRack[order[1]], "the home copies move together to the next rack");
    assertEquals(1, perRack[order[2]]);
  }

  @Test
  void returnsFewerWhenNothingIsLeft() {
    int[] order = hrw.rackOrder(66L);
    Recorder recorder = new Recorder(n -> rack(n) == order[0], r -> true, Set.of());
    assertEquals(2, ReplicaPlanner.plan(hrw, order, 1L, 3, new int[0], 2, recorder));
  }
}
