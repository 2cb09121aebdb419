package org.reidhdfs.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.server.blockmanagement.DatanodeDescriptor;
import org.junit.jupiter.api.Test;

/** Caching and CRUSH-style down/out membership, with a hand-driven clock. */
class ClusterViewTest {
  private final AtomicLong clock = new AtomicLong(1_000_000);

  private ClusterView view(PolicyHarness cluster, long refreshMs, long downOutMs) {
    Configuration conf = new Configuration(false);
    conf.setLong(PolicySettings.REFRESH_INTERVAL_MS, refreshMs);
    conf.setLong(PolicySettings.DOWN_OUT_INTERVAL_MS, downOutMs);
    return new ClusterView(cluster.topology, PolicySettings.from(conf), clock::get);
  }

  @Test
  void snapshotIsReusedUntilTheIntervalPassesOrMembershipChanges() {
    PolicyHarness cluster = PolicyHarness.create(3, 2);
    ClusterView view = view(cluster, 3_000, 60_000);
    ClusterSnapshot first = view.snapshot();
    clock.addAndGet(2_000);
    assertSame(first, view.snapshot());
    clock.addAndGet(2_000);
    ClusterSnapshot refreshed = view.snapshot();
    assertNotSame(first, refreshed);
    assertSame(first.layout, refreshed.layout, "unchanged members keep the hash layout");
    cluster.topology.remove(cluster.nodes[0]);
    assertNotSame(refreshed, view.snapshot(), "a DataNode leaving refreshes at once");
  }

  @Test
  void deadNodeStaysInTheLayoutUntilTheDownOutIntervalEnds() {
    PolicyHarness cluster = PolicyHarness.create(3, 2);
    ClusterView view = view(cluster, 0, 60_000);
    HashLayout full = view.snapshot().layout;
    assertEquals(6, full.topology.nodeCount());
    DatanodeDescriptor dead = cluster.nodes[2];
    cluster.topology.remove(dead);
    clock.addAndGet(30_000);
    assertSame(full, view.snapshot().layout, "down, not out: the layout is unchanged");
    clock.addAndGet(31_000);
    HashLayout shrunk = view.snapshot().layout;
    assertEquals(5, shrunk.topology.nodeCount());
    assertEquals(-1, shrunk.topology.nodeIndex(dead.getDatanodeUuid()));
  }

  @Test
  void aNodeLeavingForGoodKeepsItsRackWeightWithinTheTolerance() {
    PolicyHarness cluster = PolicyHarness.create(3, 5);
    ClusterView view = view(cluster, 0, 0);
    HashLayout full = view.snapshot().layout;
    DatanodeDescriptor gone = cluster.nodes[0];
    int rack = full.topology.rackIndex(gone.getNetworkLocation());
    double weight = full.topology.rackWeight(rack);
    cluster.topology.remove(gone);
    clock.addAndGet(1);
    HashLayout shrunk = view.snapshot().layout;
    int sameRack = shrunk.topology.rackIndex(gone.getNetworkLocation());
    assertEquals(0.8 * weight, shrunk.topology.rackCapacity(sameRack), 1e-6 * weight);
    assertEquals(weight, shrunk.topology.rackWeight(sameRack), "one node in five is within 25%");
    for (long key = 0; key < 200; key++) {
      assertEquals(
          full.topology.rackName(full.rackOrder(key)[0]),
          shrunk.topology.rackName(shrunk.rackOrder(key)[0]),
          "group homes stay where they were");
    }
  }

  @Test
  void capacityChangesBelowTheToleranceKeepTheLayout() {
    PolicyHarness cluster = PolicyHarness.create(3, 2);
    ClusterView view = view(cluster, 0, 60_000);
    HashLayout before = view.snapshot().layout;
    PolicyHarness.setUsage(cluster.nodes[0], PolicyHarness.CAPACITY - 1_000, 0);
    clock.addAndGet(1);
    assertSame(before, view.snapshot().layout);
    PolicyHarness.setUsage(cluster.nodes[0], PolicyHarness.CAPACITY * 2, 0);
    clock.addAndGet(1);
    assertNotSame(before, view.snapshot().layout);
  }
}
