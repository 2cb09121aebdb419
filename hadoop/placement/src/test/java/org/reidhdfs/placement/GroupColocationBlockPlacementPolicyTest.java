package org.reidhdfs.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.DFSTestUtil;
import org.apache.hadoop.hdfs.protocol.DatanodeInfo;
import org.apache.hadoop.hdfs.server.blockmanagement.DatanodeDescriptor;
import org.apache.hadoop.net.Node;
import org.junit.jupiter.api.Test;

/** The policy against Hadoop's own topology and DataNode descriptors, 3 racks. */
class GroupColocationBlockPlacementPolicyTest {

  private static String shard(int group, int file) {
    return String.format("/reid/mars/shards/g%04d/part-%05d.bin", group, file);
  }

  @Test
  void isTheConfiguredPolicy() {
    assertInstanceOf(GroupColocationBlockPlacementPolicy.class, PolicyHarness.create(3, 2).policy);
  }

  /** hdfs-site.xml files written before the rename name the old class; they must keep working. */
  @Test
  @SuppressWarnings("deprecation")
  void theFormerClassNameStillConfiguresTheSamePlacement() {
    PolicyHarness current = PolicyHarness.create(3, 2);
    PolicyHarness former = PolicyHarness.create(3, 2, conf -> conf.set(
        DFSConfigKeys.DFS_BLOCK_REPLICATOR_CLASSNAME_KEY,
        "org.reidhdfs.placement.HashRingBlockPlacementPolicy"));
    assertInstanceOf(HashRingBlockPlacementPolicy.class, former.policy);
    for (int group = 0; group < 20; group++) {
      DatanodeDescriptor[] expected = current.choose(shard(group, 0), 3);
      DatanodeDescriptor[] actual = former.choose(shard(group, 0), 3);
      assertEquals(PolicyHarness.homeRack(expected), PolicyHarness.homeRack(actual));
      assertEquals(PolicyHarness.remoteRack(expected), PolicyHarness.remoteRack(actual));
    }
  }

  @Test
  void replicasOneAndThreeShareTheGroupsRackAndTwoGoesToAnother() {
    PolicyHarness cluster = PolicyHarness.create(3, 2);
    Set<String> homes = new HashSet<>();
    for (int group = 0; group < 20; group++) {
      String home = null;
      String remote = null;
      for (int file = 0; file < 4; file++) {
        DatanodeDescriptor[] targets = cluster.choose(shard(group, file), 3);
        assertEquals(3, targets.length);
        assertEquals(3, Arrays.stream(targets).distinct().count());
        assertEquals(2, PolicyHarness.rackCount(targets));
        if (home == null) {
          home = PolicyHarness.homeRack(targets);
          remote = PolicyHarness.remoteRack(targets);
        }
        assertEquals(home, PolicyHarness.homeRack(targets), "group " + group + " file " + file);
        assertEquals(remote, PolicyHarness.remoteRack(targets));
      }
      homes.add(home);
    }
    assertEquals(3, homes.size(), "20 groups should have homes on all three racks");
  }

  @Test
  void stagingAndDatasetPathsOfAGroupShareItsHome() {
    PolicyHarness cluster = PolicyHarness.create(3, 2);
    for (int group = 0; group < 10; group++) {
      String staged = String.format("/reid/.staging/mars.run7/shards/g%04d/part-00000.bin", group);
      assertEquals(
          PolicyHarness.homeRack(cluster.choose(shard(group, 0), 3)),
          PolicyHarness.homeRack(cluster.choose(staged, 3)));
    }
  }

  /** The default writes replica 1 on a writer that is a DataNode; grouped files ignore it. */
  @Test
  void otherPathsArePlacedByTheDefaultPolicy() {
    PolicyHarness cluster = PolicyHarness.create(3, 2);
    DatanodeDescriptor writer = cluster.nodes[0];
    int groupedWithoutWriter = 0;
    for (int i = 0; i < 30; i++) {
      DatanodeDescriptor[] other =
          cluster.choose("/user/x/file" + i, 3, writer, new ArrayList<>(), new HashSet<>());
      assertTrue(Arrays.asList(other).contains(writer), "default places replica 1 locally");
      DatanodeDescriptor[] grouped =
          cluster.choose(shard(i, 0), 3, writer, new ArrayList<>(), new HashSet<>());
      groupedWithoutWriter += Arrays.asList(grouped).contains(writer) ? 0 : 1;
    }
    assertTrue(groupedWithoutWriter > 0, "grouped files follow their group, not the writer");
  }

  @Test
  void atLeastTwoRacksForReplicationTwoAndThree() {
    PolicyHarness cluster = PolicyHarness.create(3, 2);
    for (int group = 0; group < 40; group++) {
      for (int replication = 2; replication <= 3; replication++) {
        DatanodeDescriptor[] targets = cluster.choose(shard(group, replication), replication);
        assertEquals(replication, targets.length);
        assertEquals(2, PolicyHarness.rackCount(targets));
        assertTrue(cluster.policy.verifyBlockPlacement(targets, replication)
            .isPlacementPolicySatisfied());
      }
    }
  }

  @Test
  void excludedHomeNodeIsReplacedWithinTheHomeRack() {
    PolicyHarness cluster = PolicyHarness.create(3, 3);
    for (int group = 0; group < 10; group++) {
      DatanodeDescriptor[] first = cluster.choose(shard(group, 0), 3);
      String home = PolicyHarness.homeRack(first);
      DatanodeDescriptor excluded = Arrays.stream(first)
          .filter(n -> PolicyHarness.rackOf(n).equals(home)).findFirst().orElseThrow();
      Set<Node> excludedNodes = new HashSet<>(Set.of(excluded));
      DatanodeDescriptor[] again =
          cluster.choose(shard(group, 0), 3, null, new ArrayList<>(), excludedNodes);
      assertFalse(Arrays.asList(again).contains(excluded));
      assertEquals(home, PolicyHarness.homeRack(again));
    }
  }

  @Test
  void deadHomeNodeIsSkippedWhileTheGroupKeepsItsHome() {
    PolicyHarness cluster = PolicyHarness.create(3, 3);
    DatanodeDescriptor[] before = cluster.choose(shard(3, 0), 3);
    String home = PolicyHarness.homeRack(before);
    DatanodeDescriptor dead = Arrays.stream(before)
        .filter(n -> PolicyHarness.rackOf(n).equals(home)).findFirst().orElseThrow();
    cluster.topology.remove(dead);
    for (int file = 0; file < 10; file++) {
      DatanodeDescriptor[] after = cluster.choose(shard(3, file), 3);
      assertFalse(Arrays.asList(after).contains(dead));
      assertEquals(home, PolicyHarness.homeRack(after), "file " + file);
    }
  }

  @Test
  void homeRackWithOneLiveNodeStillHoldsReplicaOneAndTheRestStayOnTwoRacks() {
    PolicyHarness cluster = PolicyHarness.create(3, 2);
    DatanodeDescriptor[] before = cluster.choose(shard(5, 0), 3);
    String home = PolicyHarness.homeRack(before);
    DatanodeDescriptor[] homeNodes = Arrays.stream(before)
        .filter(n -> PolicyHarness.rackOf(n).equals(home)).toArray(DatanodeDescriptor[]::new);
    cluster.topology.remove(homeNodes[0]);
    DatanodeDescriptor[] after = cluster.choose(shard(5, 0), 3);
    assertEquals(3, after.length);
    assertTrue(Arrays.asList(after).contains(homeNodes[1]));
    assertEquals(2, PolicyHarness.rackCount(after));
  }

  @Test
  void decommissioningStaleAndFullNodesAreNotChosen() {
    PolicyHarness cluster = PolicyHarness.create(3, 3);
    for (DatanodeDescriptor node : cluster.nodes) {
      DFSTestUtil.resetLastUpdatesWithOffset(node, 0);
    }
    DatanodeDescriptor decommissioning = cluster.node("dn1");
    decommissioning.startDecommission();
    DatanodeDescriptor stale = cluster.node("dn4");
    DFSTestUtil.resetLastUpdatesWithOffset(stale, -3_600_000);
    cluster.stats.avoidStale = true;
    DatanodeDescriptor full = cluster.node("dn7");
    PolicyHarness.setUsage(full, PolicyHarness.CAPACITY, PolicyHarness.CAPACITY);
    for (int group = 0; group < 30; group++) {
      DatanodeDescriptor[] targets = cluster.choose(shard(group, 0), 3);
      List<DatanodeDescriptor> chosen = Arrays.asList(targets);
      assertEquals(3, targets.length);
      assertFalse(chosen.contains(decommissioning), "decommissioning node chosen");
      assertFalse(chosen.contains(stale), "stale node chosen");
      assertFalse(chosen.contains(full), "full node chosen");
      assertEquals(2, PolicyHarness.rackCount(targets));
    }
  }

  @Test
  void reReplicationRecreatesALostHomeCopyOnTheHomeRack() {
    PolicyHarness cluster = PolicyHarness.create(3, 3);
    for (int group = 0; group < 10; group++) {
      DatanodeDescriptor[] original = cluster.choose(shard(group, 1), 3);
      String home = PolicyHarness.homeRack(original);
      DatanodeDescriptor lost = null;
      List<DatanodeDescriptor> survivors = new ArrayList<>();
      for (DatanodeDescriptor node : original) {
        if (lost == null && PolicyHarness.rackOf(node).equals(home)) {
          lost = node;
        } else {
          survivors.add(node);
        }
      }
      cluster.topology.remove(lost);
      DatanodeDescriptor[] recreated = cluster.choose(shard(group, 1), 1, survivors.get(0),
          cluster.storagesOf(survivors.toArray(new DatanodeDescriptor[0])), new HashSet<>());
      assertEquals(1, recreated.length);
      assertEquals(home, PolicyHarness.rackOf(recreated[0]), "group " + group);
      assertNotEquals(lost, recreated[0]);
      assertFalse(survivors.contains(recreated[0]));
      cluster.topology.add(lost);
    }
  }

  @Test
  void overfullRackPassesItsGroupsOnUnderTheLoadCap() {
    PolicyHarness capped = PolicyHarness.create(3, 3);
    PolicyHarness uncapped =
        PolicyHarness.create(3, 3, c -> c.setDouble(PolicySettings.CAP_EPSILON, 0));
    for (PolicyHarness cluster : List.of(capped, uncapped)) {
      for (DatanodeDescriptor node : cluster.nodes) {
        boolean rack1 = PolicyHarness.rackOf(node).equals("/rack1");
        long used = (long) (PolicyHarness.CAPACITY * (rack1 ? 0.8 : 0.1));
        PolicyHarness.setUsage(node, PolicyHarness.CAPACITY, used);
      }
    }
    int cappedOnRack1 = 0;
    int uncappedOnRack1 = 0;
    for (int group = 0; group < 30; group++) {
      for (DatanodeDescriptor node : capped.choose(shard(group, 0), 3)) {
        cappedOnRack1 += PolicyHarness.rackOf(node).equals("/rack1") ? 1 : 0;
      }
      for (DatanodeDescriptor node : uncapped.choose(shard(group, 0), 3)) {
        uncappedOnRack1 += PolicyHarness.rackOf(node).equals("/rack1") ? 1 : 0;
      }
    }
    assertEquals(0, cappedOnRack1, "a rack at 8x the mean utilisation must take no replicas");
    assertTrue(uncappedOnRack1 > 0);
  }

  @Test
  void balancerMovesReplicasOnlyWithinARackUnlessAllowed() {
    PolicyHarness cluster = PolicyHarness.create(3, 2);
    PolicyHarness crossRack = PolicyHarness.create(3, 2,
        c -> c.setBoolean(PolicySettings.BALANCER_CROSS_RACK, true));
    for (PolicyHarness c : List.of(cluster, crossRack)) {
      DatanodeDescriptor dn1 = c.node("dn1");
      DatanodeDescriptor dn2 = c.node("dn2");
      DatanodeDescriptor dn3 = c.node("dn3");
      DatanodeDescriptor dn4 = c.node("dn4");
      DatanodeDescriptor dn5 = c.node("dn5");
      List<DatanodeInfo> locations = List.of(dn1, dn3, dn4);
      assertTrue(c.policy.isMovable(locations, dn1, dn2), "same-rack move");
      assertEquals(c == crossRack, c.policy.isMovable(locations, dn3, dn5), "cross-rack move");
    }
  }

  @Test
  void concurrentCallsAgreeOnEveryGroupsHome() throws Exception {
    PolicyHarness cluster = PolicyHarness.create(3, 3);
    Map<Integer, Set<String>> homes = new ConcurrentHashMap<>();
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        futures.add(pool.submit(() -> {
          for (int i = 0; i < 200; i++) {
            int group = (i + thread) % 10;
            DatanodeDescriptor[] targets = cluster.choose(shard(group, i), 3);
            homes.computeIfAbsent(group, g -> ConcurrentHashMap.newKeySet())
                .add(PolicyHarness.homeRack(targets));
          }
        }));
      }
      for (Future<?> future : futures) {
        future.get();
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(10, homes.size());
    homes.forEach((group, racks) -> assertEquals(1, racks.size(), "group " + group + racks));
  }
}
