package org.reidhdfs.placement.sim;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.reidhdfs.placement.core.Topology;

/**
 * A simulated cluster and its one-node changes. Placements are stored as global node ids (shared
 * by the base cluster and its variants) so that a node keeps its id when another joins or leaves.
 * A variant keeps the base's rack weights within the reweigh tolerance, as the NameNode plug-in
 * keeps its previous layout's.
 */
final class Cluster {
  private record Member(String rack, String name, double weight) {}

  private final List<Member> members;
  private final Map<String, Integer> globalIds;
  private final double rackTolerance;
  final Topology topology;
  /** Global id of each topology node index. */
  final int[] globalId;

  private Cluster(
      List<Member> members, Map<String, Integer> globalIds, double rackTolerance, Topology base) {
    this.members = members;
    this.globalIds = globalIds;
    this.rackTolerance = rackTolerance;
    Topology.Builder builder = Topology.builder();
    for (Member m : members) {
      builder.addNode(m.rack, m.name, m.weight);
    }
    Topology built = builder.build();
    topology = base == null ? built : built.keepRackWeights(base, rackTolerance);
    globalId = new int[topology.nodeCount()];
    for (int n = 0; n < globalId.length; n++) {
      globalId[n] = globalIds.computeIfAbsent(topology.nodeName(n), k -> globalIds.size());
    }
  }

  static Cluster of(SimOptions options) {
    SplittableRandom random = new SplittableRandom(options.seed() ^ 0x5eedL);
    List<Member> members = new ArrayList<>();
    for (int r = 0; r < options.racks(); r++) {
      for (int d = 0; d < options.nodesPerRack(); d++) {
        double weight = options.mixedCapacity() ? 1 + random.nextInt(4) : 1.0;
        members.add(
            new Member(String.format("/rack%03d", r), String.format("r%03dn%03d", r, d), weight));
      }
    }
    return new Cluster(members, new HashMap<>(), options.rackTolerance(), null);
  }

  /** This cluster plus one node of mean weight on {@code rack}. */
  Cluster withNode(String rack, String name) {
    List<Member> next = new ArrayList<>(members);
    next.add(new Member(rack, name, topology.totalWeight() / topology.nodeCount()));
    return new Cluster(next, globalIds, rackTolerance, topology);
  }

  /** This cluster without one node. */
  Cluster withoutNode(int node) {
    String name = topology.nodeName(node);
    List<Member> next = new ArrayList<>(members);
    next.removeIf(m -> m.name.equals(name));
    return new Cluster(next, globalIds, rackTolerance, topology);
  }

  int globalIdOf(String name) {
    return globalIds.get(name);
  }

  /** Number of global ids handed out so far (base nodes and every variant's new nodes). */
  int globalIdCount() {
    return globalIds.size();
  }
}
