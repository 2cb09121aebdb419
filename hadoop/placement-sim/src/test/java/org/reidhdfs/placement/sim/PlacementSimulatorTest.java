package org.reidhdfs.placement.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reidhdfs.placement.core.PlacementException;

class PlacementSimulatorTest {
  private static final String[] SMALL = {
    "--racks", "6", "--nodes-per-rack", "4", "--blocks", "6000", "--trials", "2", "--threads", "2"
  };

  private static List<PlacementSimulator.Row> run(SimOptions options) {
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    return PlacementSimulator.run(options, PlacementSimulator.strategies(options), quiet);
  }

  private static PlacementSimulator.Row row(List<PlacementSimulator.Row> rows, String policy) {
    return rows.stream().filter(r -> r.policy().equals(policy)).findFirst().orElseThrow();
  }

  @Test
  void comparesThePolicyWithTheAlternativesOnTheIssuesMeasures() {
    SimOptions options = SimOptions.parse(SMALL);
    List<PlacementSimulator.Row> rows = run(options);
    assertEquals("hrw+cap", rows.get(0).policy());
    assertTrue(rows.get(0).isDefault());
    for (String policy : List.of("hrw+cap", "ring+cap", "hrw", "ring")) {
      PlacementSimulator.Row row = row(rows, policy);
      assertEquals(0, row.layout().rackLossBlocks(), policy + " lost blocks to one rack");
      assertTrue(row.layout().colocation() >= 0.95, policy + " co-location");
      assertTrue(row.moveAddVsIdeal() > 0.5 && row.moveRemoveVsIdeal() > 0.5, policy);
    }
    assertTrue(row(rows, "hrw+cap").layout().rackMaxOverMean() <= 1 + options.epsilon() + 0.01);
    assertTrue(row(rows, "flat-ring").layout().rackLossBlocks() > 0,
        "a ring without racks puts some blocks' three copies on one rack");
    PlacementSimulator.Row random = row(rows, "hdfs-default");
    assertEquals(0, random.layout().rackLossBlocks());
    assertTrue(random.layout().colocation() < 0.6, "random placement scatters groups");
    assertTrue(Double.isNaN(random.moveAdd()), "random placement has no movement figure");
  }

  @Test
  void sameSeedGivesTheSameTable() {
    SimOptions options = SimOptions.parse(SMALL);
    PlacementSimulator.Row a = run(options).get(0);
    PlacementSimulator.Row b = run(options).get(0);
    assertEquals(a.layout(), b.layout());
    assertEquals(a.moveAdd(), b.moveAdd());
  }

  @Test
  void writesTheTableAsCsv(@TempDir Path dir) throws Exception {
    Path csv = dir.resolve("out/placement.csv");
    SimOptions options = SimOptions.parse(SMALL);
    PlacementSimulator.writeCsv(run(options), csv);
    List<String> lines = Files.readAllLines(csv);
    assertEquals(String.join(",", PlacementSimulator.CSV_COLUMNS), lines.get(0));
    assertEquals(7, lines.size(), "header and six policies");
    assertTrue(lines.get(1).startsWith("hrw+cap,1,"));
    try (var files = Files.list(csv.getParent())) {
      assertEquals(1, files.count(), "no temporary file left behind");
    }
  }

  @Test
  void rejectsBadArgumentsNamingThem() {
    PlacementException e = assertThrows(PlacementException.class,
        () -> SimOptions.parse(new String[] {"--racks", "one"}));
    assertTrue(e.getMessage().contains("--racks"));
    e = assertThrows(PlacementException.class,
        () -> SimOptions.parse(new String[] {"--colour", "blue"}));
    assertTrue(e.getMessage().contains("--colour"));
  }
}
