package org.reidhdfs.placement.core;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An immutable cluster map: racks, their nodes, each node's weight (its capacity) and each rack's
 * weight (its share of the groups).
 *
 * <p>A rack's weight starts as its capacity, but {@link #keepRackWeights} lets it stay what it
 * was while the capacity drifts within a tolerance: group homes are chosen among racks by these
 * weights, so a weight that followed every node joining or failing would send whole identities to
 * other racks each time, where one node's worth of blocks moving inside the rack is enough.
 *
 * <p>Indices are positions in this object only; every hash is derived from names, so two
 * topologies that share a node place its keys identically whatever order they were built in.
 */
public final class Topology {
  /** Default relative drift of a rack's capacity from its weight before the rack is reweighed. */
  public static final double DEFAULT_REWEIGH_TOLERANCE = 0.25;

  private final String[] rackNames;
  private final double[] rackCapacities;
  private final double[] rackWeights;
  private final double totalRackWeight;
  private final int[][] rackNodes;
  private final String[] nodeNames;
  private final int[] nodeRack;
  private final double[] nodeWeights;
  private final double totalWeight;
  private final Map<String, Integer> rackIndex;
  private final Map<String, Integer> nodeIndex;

  private Topology(Builder builder) {
    int racks = builder.racks.size();
    rackNames = new String[racks];
    rackCapacities = new double[racks];
    rackNodes = new int[racks][];
    rackIndex = new HashMap<>();
    nodeIndex = new HashMap<>();
    int nodes = builder.nodeCount;
    nodeNames = new String[nodes];
    nodeRack = new int[nodes];
    nodeWeights = new double[nodes];
    int r = 0;
    int n = 0;
    double total = 0;
    for (Map.Entry<String, List<Builder.Entry>> rack : builder.racks.entrySet()) {
      rackNames[r] = rack.getKey();
      rackIndex.put(rack.getKey(), r);
      List<Builder.Entry> members = rack.getValue();
      rackNodes[r] = new int[members.size()];
      for (int i = 0; i < members.size(); i++) {
        Builder.Entry entry = members.get(i);
        nodeNames[n] = entry.name();
        nodeRack[n] = r;
        nodeWeights[n] = entry.weight();
        nodeIndex.put(entry.name(), n);
        rackNodes[r][i] = n;
        rackCapacities[r] += entry.weight();
        n++;
      }
      total += rackCapacities[r];
      r++;
    }
    totalWeight = total;
    rackWeights = rackCapacities.clone();
    totalRackWeight = total;
  }

  /** A copy of {@code base} with other rack weights. */
  private Topology(Topology base, double[] rackWeights) {
    rackNames = base.rackNames;
    rackCapacities = base.rackCapacities;
    rackNodes = base.rackNodes;
    nodeNames = base.nodeNames;
    nodeRack = base.nodeRack;
    nodeWeights = base.nodeWeights;
    totalWeight = base.totalWeight;
    rackIndex = base.rackIndex;
    nodeIndex = base.nodeIndex;
    this.rackWeights = rackWeights;
    double total = 0;
    for (double weight : rackWeights) {
      total += weight;
    }
    totalRackWeight = total;
  }

  /**
   * This topology with each rack weighing what it weighed in {@code previous}, as long as the
   * rack's capacity is within {@code tolerance} (relative) of that weight; a rack new to this
   * topology, or whose capacity moved further, weighs its capacity. The drift a kept weight can
   * accumulate is therefore bounded by the tolerance, and a restart from scratch reweighs all
   * racks to their capacities.
   */
  public Topology keepRackWeights(Topology previous, double tolerance) {
    checkReweighTolerance(tolerance);
    double[] weights = rackCapacities.clone();
    for (int r = 0; r < weights.length; r++) {
      int old = previous.rackIndex(rackNames[r]);
      if (old >= 0) {
        double kept = previous.rackWeights[old];
        if (Math.abs(rackCapacities[r] - kept) <= tolerance * kept) {
          weights[r] = kept;
        }
      }
    }
    return new Topology(this, weights);
  }

  /** Returns {@code tolerance} if {@link #keepRackWeights} accepts it (>= 0 and finite). */
  public static double checkReweighTolerance(double tolerance) {
    if (!(tolerance >= 0) || Double.isInfinite(tolerance)) {
      throw new PlacementException(
          "rack reweigh tolerance must be >= 0 and finite, got " + tolerance);
    }
    return tolerance;
  }

  public static Builder builder() {
    return new Builder();
  }

  public int rackCount() {
    return rackNames.length;
  }

  public int nodeCount() {
    return nodeNames.length;
  }

  public String rackName(int rack) {
    return rackNames[rack];
  }

  /** The rack's weight among racks: its capacity, or a kept one (see {@link #keepRackWeights}). */
  public double rackWeight(int rack) {
    return rackWeights[rack];
  }

  public double totalRackWeight() {
    return totalRackWeight;
  }

  /** The sum of the rack's node weights. */
  public double rackCapacity(int rack) {
    return rackCapacities[rack];
  }

  /** Global node indices of a rack's members, in the order they were added. */
  public int[] nodesOf(int rack) {
    return rackNodes[rack].clone();
  }

  int[] nodesOfShared(int rack) {
    return rackNodes[rack];
  }

  public String nodeName(int node) {
    return nodeNames[node];
  }

  public int rackOf(int node) {
    return nodeRack[node];
  }

  public double nodeWeight(int node) {
    return nodeWeights[node];
  }

  /** The sum of all node weights. */
  public double totalWeight() {
    return totalWeight;
  }

  /** Index of a rack by name, or -1 when the rack is not in this topology. */
  public int rackIndex(String rack) {
    Integer index = rackIndex.get(rack);
    return index == null ? -1 : index;
  }

  /** Index of a node by name, or -1 when the node is not in this topology. */
  public int nodeIndex(String node) {
    Integer index = nodeIndex.get(node);
    return index == null ? -1 : index;
  }

  /** Collects nodes rack by rack; rejects what no placement could use. */
  public static final class Builder {
    private record Entry(String name, double weight) {}

    private final Map<String, List<Entry>> racks = new LinkedHashMap<>();
    private final Map<String, String> rackOfNode = new HashMap<>();
    private int nodeCount;

    private Builder() {}

    /**
     * Adds a node. Its weight is its share of the data (HDFS: capacity in bytes); it must be
     * positive and finite, because a zero weight can never win a rendezvous draw.
     */
    public Builder addNode(String rack, String node, double weight) {
      if (rack == null || rack.isEmpty()) {
        throw new PlacementException("node " + node + " has no rack name");
      }
      if (node == null || node.isEmpty()) {
        throw new PlacementException("a node on rack " + rack + " has no name");
      }
      if (!(weight > 0) || Double.isInfinite(weight)) {
        throw new PlacementException(
            "node " + node + " on rack " + rack + " has weight " + weight
                + "; weights must be positive and finite");
      }
      String previous = rackOfNode.putIfAbsent(node, rack);
      if (previous != null) {
        throw new PlacementException(
            "node " + node + " is listed twice (racks " + previous + " and " + rack + ")");
      }
      racks.computeIfAbsent(rack, k -> new ArrayList<>()).add(new Entry(node, weight));
      nodeCount++;
      return this;
    }

    public Topology build() {
      if (nodeCount == 0) {
        throw new PlacementException("a topology needs at least one node");
      }
      return new Topology(this);
    }
  }
}
