package org.reidhdfs.placement.sim;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.reidhdfs.placement.core.Algorithm;
import org.reidhdfs.placement.core.PlacementException;
import org.reidhdfs.placement.core.Topology;

/**
 * The simulator's settings. {@code --quick} selects a small topology; flags given with it still
 * override its values.
 */
record SimOptions(
    int racks,
    int nodesPerRack,
    int blocks,
    int replication,
    double zipfExponent,
    int maxGroupBlocks,
    boolean mixedCapacity,
    double epsilon,
    double rackTolerance,
    int vnodes,
    Algorithm defaultAlgorithm,
    int trials,
    long seed,
    int threads,
    Path csv) {

  static final String USAGE =
      String.join(
          "\n",
          "usage: PlacementSimulator [--quick] [--racks R] [--nodes-per-rack D] [--blocks N]",
          "       [--replication 3] [--zipf A] [--max-group K] [--capacity uniform|mixed]",
          "       [--epsilon E] [--rack-tolerance F] [--vnodes V] [--algorithm hrw|ring]",
          "       [--trials T] [--seed S] [--threads P] [--csv PATH]",
          "  --quick            8 racks x 6 nodes, 30,000 blocks, 3 trials (seconds)",
          "  --racks, --nodes-per-rack, --blocks   topology and load (25 x 40, 1,000,000)",
          "  --zipf A           group sizes drawn from a Zipf law P(k) ~ k^-A (1.6)",
          "  --max-group K      largest group in blocks (blocks / nodes: one node's share)",
          "  --capacity         uniform node capacities, or mixed 1/2/3/4 units",
          "  --epsilon E        bounded-load cap on racks of the capped variants (0.05)",
          "  --rack-tolerance F  a rack keeps its weight while its capacity drifts by <= F (0.25)",
          "  --vnodes V         virtual nodes per node for ring variants (1000)",
          "  --algorithm        the policy's default algorithm, reported in RESULT (hrw)",
          "  --trials T         node additions and removals averaged for movement (1)",
          "  --csv PATH         also write the table as CSV");

  static SimOptions parse(String[] args) {
    Map<String, String> values = new LinkedHashMap<>();
    boolean quick = false;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--quick")) {
        quick = true;
      } else if (flag.startsWith("--") && i + 1 < args.length) {
        values.put(flag, args[++i]);
      } else {
        throw new PlacementException("unexpected argument '" + flag + "'\n" + USAGE);
      }
    }
    int blocks = intValue(values, "--blocks", quick ? 30_000 : 1_000_000, 1);
    int racks = intValue(values, "--racks", quick ? 8 : 25, 2);
    int nodesPerRack = intValue(values, "--nodes-per-rack", quick ? 6 : 40, 2);
    SimOptions options =
        new SimOptions(
            racks,
            nodesPerRack,
            blocks,
            intValue(values, "--replication", 3, 1),
            doubleValue(values, "--zipf", 1.6),
            intValue(values, "--max-group", Math.max(1, blocks / (racks * nodesPerRack)), 1),
            capacity(values.remove("--capacity")),
            doubleValue(values, "--epsilon", 0.05),
            doubleValue(values, "--rack-tolerance", Topology.DEFAULT_REWEIGH_TOLERANCE),
            intValue(values, "--vnodes", 1000, 1),
            Algorithm.parse(values.getOrDefault("--algorithm", "hrw"), "--algorithm"),
            intValue(values, "--trials", quick ? 3 : 1, 1),
            longValue(values, "--seed", 1),
            intValue(values, "--threads", Runtime.getRuntime().availableProcessors(), 1),
            values.containsKey("--csv") ? Path.of(values.get("--csv")) : null);
    values.remove("--algorithm");
    values.remove("--csv");
    if (!values.isEmpty()) {
      throw new PlacementException("unknown option(s) " + values.keySet() + "\n" + USAGE);
    }
    if (options.replication > options.racks * options.nodesPerRack) {
      throw new PlacementException(
          "--replication " + options.replication + " exceeds the "
              + options.racks * options.nodesPerRack + " nodes");
    }
    return options;
  }

  int nodes() {
    return racks * nodesPerRack;
  }

  private static boolean capacity(String value) {
    if (value == null || value.equals("uniform")) {
      return false;
    }
    if (value.equals("mixed")) {
      return true;
    }
    throw new PlacementException("--capacity " + value + ": use uniform or mixed");
  }

  private static int intValue(Map<String, String> values, String flag, int fallback, int min) {
    long value = longValue(values, flag, fallback);
    if (value < min || value > Integer.MAX_VALUE) {
      throw new PlacementException(flag + " must be an integer >= " + min + ", got " + value);
    }
    return (int) value;
  }

  private static long longValue(Map<String, String> values, String flag, long fallback) {
    String text = values.remove(flag);
    if (text == null) {
      return fallback;
    }
    try {
      return Long.parseLong(text.replace("_", "").replace(",", ""));
    } catch (NumberFormatException e) {
      throw new PlacementException(flag + " needs an integer, got '" + text + "'", e);
    }
  }

  private static double doubleValue(Map<String, String> values, String flag, double fallback) {
    String text = values.remove(flag);
    if (text == null) {
      return fallback;
    }
    try {
      double value = Double.parseDouble(text);
      if (!(value >= 0) || Double.isInfinite(value)) {
        throw new PlacementException(flag + " must be >= 0 and finite, got " + text);
      }
      return value;
    } catch (NumberFormatException e) {
      throw new PlacementException(flag + " needs a number, got '" + text + "'", e);
    }
  }
}
