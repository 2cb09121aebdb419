package org.reidhdfs.placement;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.reidhdfs.placement.core.PlacementAlgorithm;
import org.reidhdfs.placement.core.Topology;

/**
 * The hash structures for one membership: which DataNodes are in the map, on which rack, with
 * what weight. Building a ring is costly, so a layout is kept until a DataNode joins, leaves for
 * good, changes rack or its capacity moves by more than {@link #CAPACITY_TOLERANCE}. A new layout
 * keeps the previous one's rack weights within the rack reweigh tolerance.
 */
final class HashLayout {
  /** Relative capacity change that rebuilds the layout (a new disk, not daily fluctuation). */
  static final double CAPACITY_TOLERANCE = 0.01;
  /** Groups whose rack order is remembered; cleared when full (a hot-set cache, not a store). */
  private static final int RACK_ORDER_CACHE_SIZE = 4096;

  /** A DataNode as the layout saw it: topology name = DataNode UUID, network path for lookup. */
  record Member(String uuid, String rack, String path, long capacity) {}

  final Topology topology;
  final PlacementAlgorithm algorithm;
  private final Member[] members;
  private final Map<Long, int[]> rackOrders = new ConcurrentHashMap<>();

  /** @param previous the layout this one replaces, or null for the first one */
  HashLayout(Map<String, Member> byUuid, PolicySettings settings, HashLayout previous) {
    Topology.Builder builder = Topology.builder();
    for (Member m : byUuid.values()) {
      builder.addNode(m.rack(), m.uuid(), m.capacity());
    }
    Topology built = builder.build();
    topology = previous == null
        ? built
        : built.keepRackWeights(previous.topology, settings.rackReweighTolerance());
    members = new Member[topology.nodeCount()];
    for (int n = 0; n < members.length; n++) {
      members[n] = byUuid.get(topology.nodeName(n));
    }
    algorithm = settings.algorithm().create(topology, settings.vnodes());
  }

  Member member(int node) {
    return members[node];
  }

  int[] rackOrder(long groupKey) {
    int[] order = rackOrders.get(groupKey);
    if (order == null) {
      order = algorithm.rackOrder(groupKey);
      if (rackOrders.size() >= RACK_ORDER_CACHE_SIZE) {
        rackOrders.clear();
      }
      rackOrders.put(groupKey, order);
    }
    return order;
  }

  /** Whether these members would build the same hash structures (within the tolerance). */
  boolean matches(Map<String, Member> byUuid) {
    if (byUuid.size() != members.length) {
      return false;
    }
    for (Member mine : members) {
      Member other = byUuid.get(mine.uuid());
      if (other == null || !other.rack().equals(mine.rack()) || !other.path().equals(mine.path())
          || Math.abs(other.capacity() - mine.capacity())
              > CAPACITY_TOLERANCE * mine.capacity()) {
        return false;
      }
    }
    return true;
  }
}
