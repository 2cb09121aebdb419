package org.reidhdfs.placement;

import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.apache.hadoop.hdfs.server.blockmanagement.DatanodeDescriptor;
import org.apache.hadoop.net.NetworkTopology;
import org.apache.hadoop.net.Node;
import org.apache.hadoop.net.NodeBase;

/**
 * Keeps the policy's view of the NameNode's NetworkTopology fresh without rebuilding it per call.
 *
 * <p>A snapshot is reused until {@code refresh-interval-ms} has passed or the number of DataNodes
 * in the topology changed; one thread rebuilds while the others keep using the previous snapshot.
 * The hash layout inside is kept as long as membership and capacities are unchanged.
 *
 * <p>Membership follows CRUSH's "down" versus "out": a DataNode that disappears from the topology
 * (dead) stays in the hash layout for {@code down-out-interval-ms}, so the homes of groups on its
 * rack do not shift while HDFS re-replicates its blocks (those copies go back to the same rack);
 * its turns are simply skipped. Decommissioning nodes are out at once, as their data is leaving.
 */
final class ClusterView {
  private record Seen(HashLayout.Member member, long usedBytes, long lastSeenMs, boolean live) {}

  private final NetworkTopology topology;
  private final PolicySettings settings;
  private final LongSupplier clockMs;
  private final ReentrantLock refreshLock = new ReentrantLock();
  /** Guarded by {@link #refreshLock}. */
  private final Map<String, Seen> seen = new LinkedHashMap<>();
  /** Guarded by {@link #refreshLock}. */
  private HashLayout layout;
  private volatile ClusterSnapshot current;

  ClusterView(NetworkTopology topology, PolicySettings settings, LongSupplier clockMs) {
    this.topology = topology;
    this.settings = settings;
    this.clockMs = clockMs;
  }

  NetworkTopology topology() {
    return topology;
  }

  /** The current snapshot, or null while no DataNode with a known capacity has registered. */
  ClusterSnapshot snapshot() {
    ClusterSnapshot snapshot = current;
    long now = clockMs.getAsLong();
    if (snapshot != null && fresh(snapshot, now)) {
      return snapshot;
    }
    if (snapshot == null) {
      refreshLock.lock();
    } else if (!refreshLock.tryLock()) {
      return snapshot;
    }
    try {
      snapshot = current;
      if (snapshot == null || !fresh(snapshot, now)) {
        snapshot = rebuild(now);
        current = snapshot;
      }
      return snapshot;
    } finally {
      refreshLock.unlock();
    }
  }

  private boolean fresh(ClusterSnapshot snapshot, long now) {
    return now - snapshot.builtAtMs < settings.refreshIntervalMs()
        && snapshot.leafCount == topology.getNumOfLeaves();
  }

  private ClusterSnapshot rebuild(long now) {
    int leafCount = topology.getNumOfLeaves();
    List<Node> leaves = topology.getLeaves(NodeBase.ROOT);
    Set<String> present = new HashSet<>();
    for (Node leaf : leaves) {
      if (!(leaf instanceof DatanodeDescriptor node)) {
        continue;
      }
      String uuid = node.getDatanodeUuid();
      if (node.isDecommissionInProgress() || node.isDecommissioned()) {
        seen.remove(uuid);
        continue;
      }
      long capacity = node.getCapacity();
      if (capacity <= 0) {
        continue;
      }
      present.add(uuid);
      HashLayout.Member member =
          new HashLayout.Member(uuid, node.getNetworkLocation(), NodeBase.getPath(node), capacity);
      seen.put(uuid, new Seen(member, node.getDfsUsed(), now, true));
    }
    for (Iterator<Map.Entry<String, Seen>> it = seen.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<String, Seen> entry = it.next();
      Seen s = entry.getValue();
      if (present.contains(entry.getKey())) {
        continue;
      }
      if (now - s.lastSeenMs() >= settings.downOutIntervalMs()) {
        it.remove();
      } else if (s.live()) {
        entry.setValue(new Seen(s.member(), s.usedBytes(), s.lastSeenMs(), false));
      }
    }
    if (seen.isEmpty()) {
      layout = null;
      return null;
    }
    Map<String, HashLayout.Member> members = new LinkedHashMap<>();
    for (Seen s : seen.values()) {
      members.put(s.member().uuid(), s.member());
    }
    if (layout == null || !layout.matches(members)) {
      layout = new HashLayout(members, settings, layout);
    }
    return utilization(layout, now, leafCount);
  }

  private ClusterSnapshot utilization(HashLayout layout, long now, int leafCount) {
    int nodes = layout.topology.nodeCount();
    int racks = layout.topology.rackCount();
    double[] rackUsed = new double[racks];
    double[] rackCapacity = new double[racks];
    double used = 0;
    double capacity = 0;
    for (int n = 0; n < nodes; n++) {
      Seen s = seen.get(layout.topology.nodeName(n));
      if (s == null || !s.live()) {
        continue;
      }
      long nodeCapacity = s.member().capacity();
      int rack = layout.topology.rackOf(n);
      rackUsed[rack] += s.usedBytes();
      rackCapacity[rack] += nodeCapacity;
      used += s.usedBytes();
      capacity += nodeCapacity;
    }
    double[] rackUtilization = new double[racks];
    for (int r = 0; r < racks; r++) {
      rackUtilization[r] = rackCapacity[r] > 0 ? rackUsed[r] / rackCapacity[r] : Double.NaN;
    }
    double mean = capacity > 0 ? used / capacity : 0;
    return new ClusterSnapshot(
        layout, now, leafCount, settings.loadCap(), rackUtilization, mean);
  }
}
