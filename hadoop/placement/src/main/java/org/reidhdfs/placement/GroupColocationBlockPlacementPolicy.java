package org.reidhdfs.placement;

import java.util.Collection;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configurable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.StorageType;
import org.apache.hadoop.hdfs.AddBlockFlag;
import org.apache.hadoop.hdfs.protocol.BlockStoragePolicy;
import org.apache.hadoop.hdfs.protocol.DatanodeInfo;
import org.apache.hadoop.hdfs.server.blockmanagement.BlockPlacementPolicyDefault;
import org.apache.hadoop.hdfs.server.blockmanagement.DatanodeDescriptor;
import org.apache.hadoop.hdfs.server.blockmanagement.DatanodeStorageInfo;
import org.apache.hadoop.net.Node;
import org.apache.hadoop.util.Time;
import org.reidhdfs.placement.core.ReplicaPlanner;

/**
 * Co-locates each group of files (one identity group's shards) on a home rack: replicas 1 and 3
 * on the group's home rack, replica 2 on the next rack of the group's rack order, so reads of an
 * identity stay within a rack and losing any one rack loses no block. Homes and nodes are drawn
 * by two-level weighted rendezvous hashing (CRUSH's straw2; a consistent-hash ring is selectable)
 * under a soft bounded-load cap on racks. This is the paper's "hash loop" as a NameNode policy.
 *
 * <p>Enable with {@code dfs.block.replicator.classname=}{@value #CLASS_NAME} and put the
 * reid-placement jar on the NameNode's classpath. Settings (all optional):
 *
 * <ul>
 *   <li>{@code reidhdfs.placement.group-pattern}
 *       (<code>^/reid/.*&#47;shards/([^/]+)/[^/]+$</code>): a regex over the file path with
 *       exactly one capture group, the group key. It matches the
 *       ingest's {@code /reid/<dataset>/shards/<group>/<file>} and its staging copies under
 *       {@code /reid/.staging/<dataset>.<run>/shards/<group>/<file>}, which share the key. Files
 *       that do not match are placed by {@link BlockPlacementPolicyDefault} unchanged.
 *   <li>{@code reidhdfs.placement.algorithm} ({@code hrw}): {@code hrw} for two-level weighted
 *       rendezvous hashing (CRUSH straw2), {@code ring} for a consistent-hash ring.
 *   <li>{@code reidhdfs.placement.ring.vnodes} (1000): virtual nodes per DataNode for {@code ring}.
 *   <li>{@code reidhdfs.placement.load-cap.epsilon} (0.05): bounded-load cap on racks; a rack whose
 *       utilisation exceeds {@code mean * (1 + eps/2) + min-gap} starts passing files (lowest
 *       priority hash first) on to the next rack of their order, and takes none above
 *       {@code mean * (1 + eps) + min-gap}. 0 disables it. Nodes inside a rack are evened out
 *       by hashing and by the Balancer, which this policy lets move replicas within a rack.
 *   <li>{@code reidhdfs.placement.load-cap.min-gap} (0.05): margin, as a fraction of capacity,
 *       added to the cap's band, so a nearly empty cluster is never steered by noise.
 *   <li>{@code reidhdfs.placement.refresh-interval-ms} (3000): how long a view of the topology and
 *       DataNode utilisation is reused.
 *   <li>{@code reidhdfs.placement.down-out-interval-ms} (3600000): how long a dead DataNode keeps
 *       its place (and its rack its weight) in the hash layout, so group homes do not shift while
 *       its blocks are re-replicated.
 *   <li>{@code reidhdfs.placement.rack-reweigh-tolerance} (0.25): a rack keeps the weight it has
 *       among racks while its capacity stays within this fraction of that weight. Group homes are
 *       drawn by rack weight, so a weight that followed every DataNode joining or leaving for good
 *       would move whole identities between racks each time; kept, a node change only moves
 *       blocks inside its rack. A NameNode restart weighs racks anew by capacity.
 *   <li>{@code reidhdfs.placement.balancer.allow-cross-rack} (false): let the Balancer move
 *       replicas between racks; off, it only moves them within a rack, which keeps every layout.
 * </ul>
 *
 * <p>Node weights are the DataNodes' capacities; racks and nodes come from the NameNode's
 * NetworkTopology. Each proposed node is checked by Hadoop's own rules (in topology, in service,
 * not stale when stale nodes are avoided, enough space, not excluded, at most the default number
 * of replicas per rack); a refused node passes its turn to the next node of the same rack, then to
 * the next rack in the group's order, and whatever is still missing is chosen by the default
 * policy. Re-replication goes through the same path with the surviving replicas already chosen,
 * so a lost home copy is re-created on the home rack when it has room. Block placement is checked
 * ({@code verifyBlockPlacement}) as by the default policy: at least two racks.
 *
 * <p>Thread-safe: chooseTarget runs concurrently on RPC handlers and the redundancy monitor; the
 * hash layout is immutable and shared, refreshed by one thread at a time.
 */
public class GroupColocationBlockPlacementPolicy extends BlockPlacementPolicyDefault
    implements Configurable {
  public static final String CLASS_NAME =
      "org.reidhdfs.placement.GroupColocationBlockPlacementPolicy";

  /** The grouped file the current thread is placing; null for files the default places. */
  private static final ThreadLocal<PlacementKeys> CURRENT = new ThreadLocal<>();

  private Configuration conf;
  private volatile PolicySettings settings;
  private volatile ClusterView view;

  public GroupColocationBlockPlacementPolicy() {}

  /** Hadoop calls this right after construction (ReflectionUtils.newInstance). */
  @Override
  public void setConf(Configuration conf) {
    this.conf = conf;
    this.settings = PolicySettings.from(conf);
  }

  @Override
  public Configuration getConf() {
    return conf;
  }

  /**
   * The default's 9-argument form is its 10-argument form with no storage types given; delegating
   * keeps one body that sets the file's keys for {@link #chooseTargetInOrder}.
   */
  @Override
  public DatanodeStorageInfo[] chooseTarget(
      String srcPath,
      int numOfReplicas,
      Node writer,
      List<DatanodeStorageInfo> chosen,
      boolean returnChosenNodes,
      Set<Node> excludedNodes,
      long blocksize,
      BlockStoragePolicy storagePolicy,
      EnumSet<AddBlockFlag> flags) {
    return chooseTarget(srcPath, numOfReplicas, writer, chosen, returnChosenNodes, excludedNodes,
        blocksize, storagePolicy, flags, null);
  }

  @Override
  public DatanodeStorageInfo[] chooseTarget(
      String srcPath,
      int numOfReplicas,
      Node writer,
      List<DatanodeStorageInfo> chosen,
      boolean returnChosenNodes,
      Set<Node> excludedNodes,
      long blocksize,
      BlockStoragePolicy storagePolicy,
      EnumSet<AddBlockFlag> flags,
      EnumMap<StorageType, Integer> storageTypes) {
    PlacementKeys previous = CURRENT.get();
    CURRENT.set(settings().keysFor(srcPath));
    try {
      return super.chooseTarget(srcPath, numOfReplicas, writer, chosen, returnChosenNodes,
          excludedNodes, blocksize, storagePolicy, flags, storageTypes);
    } finally {
      CURRENT.set(previous);
    }
  }

  /**
   * The default policy's per-block step, called by its chooseTarget with the excluded nodes, the
   * per-rack limit and the storage types already worked out (and again on its retries). For a
   * grouped file the hash layout proposes the nodes; the default fills in anything left.
   */
  @Override
  protected Node chooseTargetInOrder(
      int numOfReplicas,
      Node writer,
      Set<Node> excludedNodes,
      long blocksize,
      int maxNodesPerRack,
      List<DatanodeStorageInfo> results,
      boolean avoidStaleNodes,
      boolean newBlock,
      EnumMap<StorageType, Integer> storageTypes)
      throws NotEnoughReplicasException {
    PlacementKeys keys = CURRENT.get();
    ClusterSnapshot snapshot = keys == null ? null : view().snapshot();
    if (snapshot == null) {
      return super.chooseTargetInOrder(numOfReplicas, writer, excludedNodes, blocksize,
          maxNodesPerRack, results, avoidStaleNodes, newBlock, storageTypes);
    }
    HashLayout layout = snapshot.layout;
    int[] existingRacks = new int[results.size()];
    for (int i = 0; i < existingRacks.length; i++) {
      existingRacks[i] = layout.topology.rackIndex(
          results.get(i).getDatanodeDescriptor().getNetworkLocation());
    }
    ReplicaPlanner.Admission admission =
        new ReplicaPlanner.Admission() {
          @Override
          public boolean rackOpen(int rack) {
            return snapshot.rackOpen(rack, keys.priority());
          }

          @Override
          public boolean tryPlace(int node) {
            return place(layout.member(node), excludedNodes, blocksize, maxNodesPerRack, results,
                avoidStaleNodes, storageTypes);
          }
        };
    int placed = ReplicaPlanner.plan(layout.algorithm, layout.rackOrder(keys.groupKey()),
        keys.itemKey(), numOfReplicas, existingRacks, maxNodesPerRack, admission);
    if (placed < numOfReplicas) {
      LOG.debug("{}: hash layout of group {} placed {} of {} replicas; default policy chooses the"
          + " rest", getClass().getSimpleName(), keys.group(), placed, numOfReplicas);
      return super.chooseTargetInOrder(numOfReplicas - placed, writer, excludedNodes, blocksize,
          maxNodesPerRack, results, avoidStaleNodes, newBlock, storageTypes);
    }
    if (writer instanceof DatanodeDescriptor || results.isEmpty()) {
      return writer;
    }
    return results.get(0).getDatanodeDescriptor();
  }

  /**
   * Places one replica on a layout member if Hadoop's checks accept it now. Uses the default
   * policy's favoured-node path, which applies exactly those checks to one given node.
   */
  private boolean place(
      HashLayout.Member member,
      Set<Node> excludedNodes,
      long blocksize,
      int maxNodesPerRack,
      List<DatanodeStorageInfo> results,
      boolean avoidStaleNodes,
      EnumMap<StorageType, Integer> storageTypes) {
    Node node = clusterMap.getNode(member.path());
    if (!(node instanceof DatanodeDescriptor datanode)
        || !member.uuid().equals(datanode.getDatanodeUuid())) {
      return false;
    }
    try {
      return chooseLocalOrFavoredStorage(datanode, true, excludedNodes, blocksize,
          maxNodesPerRack, results, avoidStaleNodes, storageTypes) != null;
    } catch (NotEnoughReplicasException e) {
      return false;
    }
  }

  /**
   * Lets the Balancer move a replica only within its rack (unless configured otherwise): the
   * Balancer does not say which file a block belongs to, and a move to another rack would undo a
   * group's layout. The default's rule (never reduce the number of racks) applies as well.
   */
  @Override
  public boolean isMovable(
      Collection<DatanodeInfo> locs, DatanodeInfo source, DatanodeInfo target) {
    if (!settings().balancerCrossRack()
        && !source.getNetworkLocation().equals(target.getNetworkLocation())) {
      return false;
    }
    return super.isMovable(locs, source, target);
  }

  private PolicySettings settings() {
    PolicySettings current = settings;
    if (current == null) {
      throw new IllegalStateException(getClass().getName()
          + " has no configuration: create it with ReflectionUtils.newInstance(class, conf), as"
          + " the NameNode does, so that setConf is called");
    }
    return current;
  }

  /** The view of {@code clusterMap}, which the default's initialize sets after construction. */
  private ClusterView view() {
    ClusterView current = view;
    if (current == null || current.topology() != clusterMap) {
      synchronized (this) {
        current = view;
        if (current == null || current.topology() != clusterMap) {
          current = new ClusterView(clusterMap, settings(), Time::monotonicNow);
          view = current;
        }
      }
    }
    return current;
  }
}
