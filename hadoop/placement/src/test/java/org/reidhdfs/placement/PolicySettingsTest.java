package org.reidhdfs.placement;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.reidhdfs.placement.core.Algorithm;
import org.reidhdfs.placement.core.PlacementException;

class PolicySettingsTest {
  private static PolicySettings defaults() {
    return PolicySettings.from(new Configuration(false));
  }

  @Test
  void defaultPatternKeysDatasetAndStagingShardsByTheirGroup() {
    PolicySettings settings = defaults();
    PlacementKeys dataset = settings.keysFor("/reid/mars/shards/g0042/part-00003.bin");
    PlacementKeys staged = settings.keysFor("/reid/.staging/mars.run9/shards/g0042/part-00003.bin");
    assertEquals("g0042", dataset.group());
    assertEquals(dataset, staged);
    assertNull(settings.keysFor("/reid/mars/index/part-0.parquet"));
    assertNull(settings.keysFor("/reid/mars/shards/g0042"));
    assertNull(settings.keysFor("/user/someone/file"));
    assertEquals(Algorithm.HRW, settings.algorithm());
    assertEquals(0.05, settings.loadCap().epsilon());
    assertEquals(0.25, settings.rackReweighTolerance());
  }

  @Test
  void filesOfOneGroupShareTheGroupKeyButNotTheItemKey() {
    PolicySettings settings = defaults();
    PlacementKeys a = settings.keysFor("/reid/mars/shards/g1/a");
    PlacementKeys b = settings.keysFor("/reid/mars/shards/g1/b");
    assertEquals(a.groupKey(), b.groupKey());
    assertTrue(a.itemKey() != b.itemKey());
  }

  @Test
  void rejectsSettingsThatCannotWorkNamingTheKey() {
    Configuration twoGroups = new Configuration(false);
    twoGroups.set(PolicySettings.GROUP_PATTERN, "^/reid/(a)/(b)$");
    PlacementException e =
        assertThrows(PlacementException.class, () -> PolicySettings.from(twoGroups));
    assertTrue(e.getMessage().contains(PolicySettings.GROUP_PATTERN), e.getMessage());

    Configuration badAlgorithm = new Configuration(false);
    badAlgorithm.set(PolicySettings.ALGORITHM, "crush");
    e = assertThrows(PlacementException.class, () -> PolicySettings.from(badAlgorithm));
    assertTrue(e.getMessage().contains(PolicySettings.ALGORITHM), e.getMessage());

    Configuration negativeCap = new Configuration(false);
    negativeCap.setDouble(PolicySettings.CAP_EPSILON, -1);
    e = assertThrows(PlacementException.class, () -> PolicySettings.from(negativeCap));
    assertTrue(e.getMessage().contains(PolicySettings.CAP_EPSILON), e.getMessage());

    Configuration negativeTolerance = new Configuration(false);
    negativeTolerance.setDouble(PolicySettings.RACK_REWEIGH_TOLERANCE, -0.1);
    e = assertThrows(PlacementException.class, () -> PolicySettings.from(negativeTolerance));
    assertTrue(e.getMessage().contains(PolicySettings.RACK_REWEIGH_TOLERANCE), e.getMessage());
  }
}
