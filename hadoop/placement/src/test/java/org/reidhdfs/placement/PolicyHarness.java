package org.reidhdfs.placement;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.StorageType;
import org.apache.hadoop.hdfs.AddBlockFlag;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.DFSTestUtil;
import org.apache.hadoop.hdfs.HdfsConfiguration;
import org.apache.hadoop.hdfs.net.DFSNetworkTopology;
import org.apache.hadoop.hdfs.protocol.BlockStoragePolicy;
import org.apache.hadoop.hdfs.protocol.BlockType;
import org.apache.hadoop.hdfs.server.blockmanagement.BlockPlacementPolicies;
import org.apache.hadoop.hdfs.server.blockmanagement.BlockPlacementPolicy;
import org.apache.hadoop.hdfs.server.blockmanagement.BlockStoragePolicySuite;
import org.apache.hadoop.hdfs.server.blockmanagement.DatanodeDescriptor;
import org.apache.hadoop.hdfs.server.blockmanagement.DatanodeStorageInfo;
import org.apache.hadoop.hdfs.server.blockmanagement.FSClusterStats;
import org.apache.hadoop.hdfs.server.blockmanagement.StorageTypeStats;
import org.apache.hadoop.net.NetworkTopology;
import org.apache.hadoop.net.Node;

/**
 * The policy as the NameNode builds it (BlockPlacementPolicies with the configured class name),
 * over Hadoop's own DFSNetworkTopology and test DataNode descriptors. No NameNode is started.
 */
final class PolicyHarness {
  static final long CAPACITY = 1L << 40;
  static final long BLOCK_SIZE = 64L << 20;
  static final BlockStoragePolicy STORAGE_POLICY =
      BlockStoragePolicySuite.createDefaultSuite().getDefaultPolicy();

  /** The cluster statistics the policy reads; only stale-node avoidance is varied. */
  static final class Stats implements FSClusterStats {
    volatile boolean avoidStale;

    @Override
    public int getTotalLoad() {
      return 0;
    }

    @Override
    public boolean isAvoidingStaleDataNodesForWrite() {
      return avoidStale;
    }

    @Override
    public int getNumDatanodesInService() {
      return 0;
    }

    @Override
    public double getInServiceXceiverAverage() {
      return 0;
    }

    @Override
    public double getInServiceXceiverAverageForVolume() {
      return 0;
    }

    @Override
    public Map<StorageType, StorageTypeStats> getStorageTypeStats() {
      return Map.of();
    }
  }

  final Configuration conf;
  final NetworkTopology topology;
  final Stats stats = new Stats();
  final BlockPlacementPolicy policy;
  final DatanodeDescriptor[] nodes;

  private PolicyHarness(int racks, int perRack, Consumer<Configuration> settings) {
    conf = new HdfsConfiguration(false);
    conf.set(DFSConfigKeys.DFS_BLOCK_REPLICATOR_CLASSNAME_KEY,
        GroupColocationBlockPlacementPolicy.CLASS_NAME);
    conf.setLong(PolicySettings.REFRESH_INTERVAL_MS, 0);
    settings.accept(conf);
    String[] rackNames = new String[racks * perRack];
    String[] hosts = new String[racks * perRack];
    for (int i = 0; i < rackNames.length; i++) {
      rackNames[i] = "/rack" + (i / perRack + 1);
      hosts[i] = "dn" + (i + 1);
    }
    DatanodeStorageInfo[] storages =
        DFSTestUtil.createDatanodeStorageInfos(rackNames.length, rackNames, hosts);
    nodes = DFSTestUtil.toDatanodeDescriptor(storages);
    topology = DFSNetworkTopology.getInstance(conf);
    for (DatanodeDescriptor node : nodes) {
      setUsage(node, CAPACITY, 0);
      topology.add(node);
    }
    policy = new BlockPlacementPolicies(conf, stats, topology, null)
        .getPolicy(BlockType.CONTIGUOUS);
  }

  static PolicyHarness create(int racks, int perRack) {
    return new PolicyHarness(racks, perRack, c -> {});
  }

  static PolicyHarness create(int racks, int perRack, Consumer<Configuration> settings) {
    return new PolicyHarness(racks, perRack, settings);
  }

  static void setUsage(DatanodeDescriptor node, long capacity, long used) {
    long remaining = capacity - used;
    node.getStorageInfos()[0].setUtilizationForTesting(capacity, used, remaining, used);
    node.setCapacity(capacity);
    node.setDfsUsed(used);
    node.setRemaining(remaining);
  }

  DatanodeDescriptor[] choose(String path, int replicas) {
    return choose(path, replicas, null, new ArrayList<>(), new HashSet<>());
  }

  DatanodeDescriptor[] choose(
      String path, int replicas, Node writer, List<DatanodeStorageInfo> chosen,
      Set<Node> excluded) {
    DatanodeStorageInfo[] targets = policy.chooseTarget(path, replicas, writer, chosen, false,
        excluded, BLOCK_SIZE, STORAGE_POLICY, EnumSet.noneOf(AddBlockFlag.class));
    return DFSTestUtil.toDatanodeDescriptor(targets);
  }

  static String rackOf(Node node) {
    return node.getNetworkLocation();
  }

  static long rackCount(DatanodeDescriptor[] targets) {
    return Arrays.stream(targets).map(PolicyHarness::rackOf).distinct().count();
  }

  /** The rack holding two of a three-replica block's copies. */
  static String homeRack(DatanodeDescriptor[] targets) {
    for (DatanodeDescriptor a : targets) {
      long same = Arrays.stream(targets).filter(b -> rackOf(b).equals(rackOf(a))).count();
      if (same == 2) {
        return rackOf(a);
      }
    }
    throw new AssertionError("no rack holds two replicas: " + Arrays.toString(targets));
  }

  static String remoteRack(DatanodeDescriptor[] targets) {
    String home = homeRack(targets);
    return Arrays.stream(targets).map(PolicyHarness::rackOf).filter(r -> !r.equals(home))
        .findFirst().orElseThrow();
  }

  List<DatanodeStorageInfo> storagesOf(DatanodeDescriptor... holders) {
    List<DatanodeStorageInfo> storages = new ArrayList<>();
    for (DatanodeDescriptor holder : holders) {
      storages.add(holder.getStorageInfos()[0]);
    }
    return storages;
  }

  DatanodeDescriptor node(String host) {
    return Arrays.stream(nodes).filter(n -> n.getHostName().equals(host)).findFirst()
        .orElseThrow();
  }
}
