package org.reidhdfs.placement.core;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An immutable cluster map: racks, their nodes, and each node's weight (its capacity).
 *
 * <p>Indices are positions in this object only; every hash is derived from names, so two
 * topologies that share a node place its keys identically whatever order they were built in.
 */
public final class Topology {
  private final String[] rackNames;
  private final double[] rackWeights;
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
    rackWeights = new double[racks];
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
        rackWeights[r] += entry.weight();
        n++;
      }
      total += rackWeights[r];
      r++;
    }
    totalWeight = total;
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

  public double rackWeight(int rack) {
    return rackWeights[rack];
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
