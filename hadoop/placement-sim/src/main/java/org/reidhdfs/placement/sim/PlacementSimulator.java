package org.reidhdfs.placement.sim;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.reidhdfs.placement.core.Algorithm;
import org.reidhdfs.placement.core.LoadCap;
import org.reidhdfs.placement.core.PlacementException;

/**
 * Places N blocks of G heavy-tailed groups on R racks x D nodes with the policy's own classes and
 * compares it with the other algorithm, uncapped variants, a flat ring and HDFS's default.
 *
 * <p>Run: {@code java -cp reid-placement.jar:reid-placement-sim.jar
 * org.reidhdfs.placement.sim.PlacementSimulator --quick} (benchmarks/placement.py does).
 * Prints a table; {@code --csv} also writes it for plotting. The row marked {@code *} is the
 * policy as configured by default.
 */
public final class PlacementSimulator {
  static final String[] CSV_COLUMNS = {
    "policy", "default", "node_max_mean", "node_cv", "rack_max_mean", "rack_cv", "colocation",
    "colocation_p5", "move_add", "ideal_add", "move_remove", "ideal_remove", "move_add_vs_ideal",
    "move_remove_vs_ideal", "move_vs_ideal", "avoidable_move", "rack_loss_blocks",
    "rack2_loss_blocks", "rack2_loss_group_share", "us_per_block"
  };

  private PlacementSimulator() {}

  /** One table row. Movement figures are means over the trials; NaN for random placement. */
  record Row(
      String policy,
      boolean isDefault,
      LayoutMetrics layout,
      double moveAdd,
      double idealAdd,
      double moveRemove,
      double idealRemove,
      double avoidableMove,
      double usPerBlock) {

    double moveAddVsIdeal() {
      return moveAdd / idealAdd;
    }

    double moveRemoveVsIdeal() {
      return moveRemove / idealRemove;
    }

    double moveVsIdeal() {
      return Math.max(moveAddVsIdeal(), moveRemoveVsIdeal());
    }
  }

  /** A one-node change of the base cluster, for movement. */
  private record Change(Cluster cluster, int changedNode, double ideal, boolean added) {}

  public static void main(String[] args) {
    try {
      SimOptions options = SimOptions.parse(args);
      long start = System.nanoTime();
      List<Row> rows = run(options, strategies(options), System.out);
      printTable(rows, System.out);
      if (options.csv() != null) {
        writeCsv(rows, options.csv());
        System.out.println("csv: " + options.csv());
      }
      System.out.printf(Locale.ROOT, "total: %.1f s%n", (System.nanoTime() - start) / 1e9);
    } catch (PlacementException e) {
      System.err.println("error: " + e.getMessage());
      System.exit(2);
    }
  }

  static List<Row> run(SimOptions options, List<Strategy> strategies, PrintStream log) {
    Workload workload =
        Workload.zipf(
            options.blocks(), options.zipfExponent(), options.maxGroupBlocks(), options.seed());
    Cluster base = Cluster.of(options);
    List<Change> changes = changes(base, options);
    log.printf(
        Locale.ROOT,
        "topology: %d racks x %d nodes (%s capacity), %d blocks x %d replicas "
            + "(%.0f replicas/node)%n",
        options.racks(), options.nodesPerRack(), options.mixedCapacity() ? "mixed" : "uniform",
        options.blocks(), options.replication(),
        (double) options.blocks() * options.replication() / options.nodes());
    log.printf(
        Locale.ROOT,
        "groups: %d, Zipf exponent %.2f, largest %d blocks (%.2f%% of blocks); cap epsilon %.2f,"
            + " rack reweigh tolerance %.2f, ring vnodes %d, %d trial(s)%n",
        workload.groupCount, options.zipfExponent(), workload.largestGroup(),
        100.0 * workload.largestGroup() / options.blocks(), options.epsilon(),
        options.rackTolerance(), options.vnodes(), options.trials());

    ExecutorService pool = Executors.newFixedThreadPool(options.threads());
    try {
      List<Future<Row>> futures = new ArrayList<>();
      for (int i = 0; i < strategies.size(); i++) {
        Strategy strategy = strategies.get(i);
        boolean isDefault = i == 0;
        futures.add(
            pool.submit(() -> evaluate(strategy, isDefault, base, changes, workload, options)));
      }
      List<Row> rows = new ArrayList<>();
      for (Future<Row> future : futures) {
        rows.add(future.get());
      }
      return rows;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("simulation interrupted", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException(e.getCause());
    } finally {
      pool.shutdownNow();
    }
  }

  /** The policy's default configuration first, then the alternatives it is compared with. */
  static List<Strategy> strategies(SimOptions options) {
    Algorithm chosen = options.defaultAlgorithm();
    Algorithm other = chosen == Algorithm.HRW ? Algorithm.RING : Algorithm.HRW;
    LoadCap cap = new LoadCap(options.epsilon(), 0);
    List<Strategy> strategies = new ArrayList<>();
    if (cap.enabled()) {
      strategies.add(new HashStrategy(chosen.configName() + "+cap", chosen, options.vnodes(), cap));
      strategies.add(new HashStrategy(other.configName() + "+cap", other, options.vnodes(), cap));
    }
    strategies.add(new HashStrategy(chosen.configName(), chosen, options.vnodes(), LoadCap.NONE));
    strategies.add(new HashStrategy(other.configName(), other, options.vnodes(), LoadCap.NONE));
    strategies.add(new FlatRingStrategy(options.vnodes()));
    strategies.add(new HdfsDefaultStrategy(options.seed()));
    return strategies;
  }

  /** For each trial, one node added to a random rack and one random node removed. */
  private static List<Change> changes(Cluster base, SimOptions options) {
    SplittableRandom random = new SplittableRandom(options.seed() * 31 + 7);
    List<Change> changes = new ArrayList<>();
    double total = base.topology.totalWeight();
    for (int t = 0; t < options.trials(); t++) {
      String rack = base.topology.rackName(random.nextInt(base.topology.rackCount()));
      Cluster grown = base.withNode(rack, "added" + t);
      int added = grown.globalIdOf("added" + t);
      double addedWeight = grown.topology.totalWeight() - total;
      changes.add(new Change(grown, added, addedWeight / grown.topology.totalWeight(), true));
      int removed = random.nextInt(base.topology.nodeCount());
      changes.add(
          new Change(
              base.withoutNode(removed), base.globalId[removed],
              base.topology.nodeWeight(removed) / total, false));
    }
    return changes;
  }

  private static Row evaluate(
      Strategy strategy,
      boolean isDefault,
      Cluster base,
      List<Change> changes,
      Workload workload,
      SimOptions options) {
    int replication = options.replication();
    Strategy.Placement placement = strategy.place(base, workload, replication);
    LayoutMetrics layout = LayoutMetrics.of(base, workload, replication, placement.replicas());
    double usPerBlock = placement.nanos() / 1e3 / workload.blockCount;
    if (!strategy.deterministic()) {
      return new Row(strategy.name(), isDefault, layout, Double.NaN, Double.NaN, Double.NaN,
          Double.NaN, Double.NaN, usPerBlock);
    }
    double[] sums = new double[5];
    for (Change change : changes) {
      int[] after = strategy.place(change.cluster(), workload, replication).replicas();
      double[] moved =
          LayoutMetrics.moved(placement.replicas(), after, replication, change.changedNode());
      int offset = change.added() ? 0 : 2;
      sums[offset] += moved[0];
      sums[offset + 1] += change.ideal();
      sums[4] += moved[1];
    }
    int trials = options.trials();
    return new Row(strategy.name(), isDefault, layout, sums[0] / trials, sums[1] / trials,
        sums[2] / trials, sums[3] / trials, sums[4] / (2.0 * trials), usPerBlock);
  }

  static void printTable(List<Row> rows, PrintStream out) {
    String header =
        String.format(
            Locale.ROOT,
            "%-14s %8s %6s %8s %6s %6s %6s %8s %8s %8s %8s %9s %7s %8s",
            "policy", "node", "node", "rack", "rack", "coloc", "coloc", "move+", "move-",
            "avoid-", "1-rack", "2-rack", "2-rack", "decision");
    String units =
        String.format(
            Locale.ROOT,
            "%-14s %8s %6s %8s %6s %6s %6s %8s %8s %8s %8s %9s %7s %8s",
            "", "max/mean", "CV", "max/mean", "CV", "mean", "p5", "/ideal", "/ideal", "able",
            "lost", "lost", "groups", "us/block");
    out.println(header);
    out.println(units);
    for (Row row : rows) {
      LayoutMetrics m = row.layout();
      out.printf(
          Locale.ROOT,
          "%-14s %8.3f %6.3f %8.3f %6.3f %6.3f %6.3f %8s %8s %8s %8d %9d %6.1f%% %8.2f%n",
          (row.isDefault() ? "*" : " ") + row.policy(),
          m.nodeMaxOverMean(), m.nodeCv(), m.rackMaxOverMean(), m.rackCv(), m.colocation(),
          m.colocationP5(), ratio(row.moveAddVsIdeal()), ratio(row.moveRemoveVsIdeal()),
          share(row.avoidableMove()), m.rackLossBlocks(), m.rackPairLossBlocks(),
          100 * m.rackPairLossGroupShare(), row.usPerBlock());
    }
    Row chosen = rows.get(0);
    out.printf(
        Locale.ROOT,
        "ideal movement: +1 node %.5f, -1 node %.5f of replicas; * = the policy's default%n",
        chosen.idealAdd(), chosen.idealRemove());
  }

  private static String ratio(double value) {
    return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.3f", value);
  }

  private static String share(double value) {
    return Double.isNaN(value) ? "n/a" : String.format(Locale.ROOT, "%.5f", value);
  }

  static void writeCsv(List<Row> rows, Path path) {
    StringBuilder csv = new StringBuilder(String.join(",", CSV_COLUMNS)).append('\n');
    for (Row row : rows) {
      LayoutMetrics m = row.layout();
      Object[] values = {
        row.policy(), row.isDefault() ? 1 : 0, m.nodeMaxOverMean(), m.nodeCv(),
        m.rackMaxOverMean(), m.rackCv(), m.colocation(), m.colocationP5(), row.moveAdd(),
        row.idealAdd(), row.moveRemove(), row.idealRemove(), row.moveAddVsIdeal(),
        row.moveRemoveVsIdeal(), row.moveVsIdeal(), row.avoidableMove(), m.rackLossBlocks(),
        m.rackPairLossBlocks(), m.rackPairLossGroupShare(), row.usPerBlock()
      };
      for (int i = 0; i < values.length; i++) {
        if (i > 0) {
          csv.append(',');
        }
        csv.append(values[i] instanceof Double d && d.isNaN() ? "" : String.valueOf(values[i]));
      }
      csv.append('\n');
    }
    Path absolute = path.toAbsolutePath();
    try {
      Files.createDirectories(absolute.getParent());
      Path temporary = Files.createTempFile(absolute.getParent(), ".placement-", ".csv.tmp");
      try {
        Files.writeString(temporary, csv, StandardCharsets.UTF_8);
        Files.move(temporary, absolute, StandardCopyOption.REPLACE_EXISTING,
            StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(temporary);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write simulator CSV " + absolute, e);
    }
  }
}
