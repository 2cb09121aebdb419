package org.reidhdfs.placement;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.apache.hadoop.conf.Configuration;
import org.reidhdfs.placement.core.Algorithm;
import org.reidhdfs.placement.core.LoadCap;
import org.reidhdfs.placement.core.PlacementException;
import org.reidhdfs.placement.core.Topology;

/**
 * The policy's settings, read once from the NameNode's (or Balancer's) configuration. Keys and
 * defaults are documented on {@link GroupColocationBlockPlacementPolicy}.
 */
record PolicySettings(
    Pattern groupPattern,
    Algorithm algorithm,
    int vnodes,
    LoadCap loadCap,
    long refreshIntervalMs,
    long downOutIntervalMs,
    double rackReweighTolerance,
    boolean balancerCrossRack) {

  static final String PREFIX = "reidhdfs.placement.";
  static final String GROUP_PATTERN = PREFIX + "group-pattern";
  static final String ALGORITHM = PREFIX + "algorithm";
  static final String VNODES = PREFIX + "ring.vnodes";
  static final String CAP_EPSILON = PREFIX + "load-cap.epsilon";
  static final String CAP_MIN_GAP = PREFIX + "load-cap.min-gap";
  static final String REFRESH_INTERVAL_MS = PREFIX + "refresh-interval-ms";
  static final String DOWN_OUT_INTERVAL_MS = PREFIX + "down-out-interval-ms";
  static final String RACK_REWEIGH_TOLERANCE = PREFIX + "rack-reweigh-tolerance";
  static final String BALANCER_CROSS_RACK = PREFIX + "balancer.allow-cross-rack";

  static final String DEFAULT_GROUP_PATTERN = "^/reid/.*/shards/([^/]+)/[^/]+$";
  static final String DEFAULT_ALGORITHM = "hrw";
  static final int DEFAULT_VNODES = 1000;
  static final double DEFAULT_CAP_EPSILON = 0.05;
  static final double DEFAULT_CAP_MIN_GAP = 0.05;
  static final long DEFAULT_REFRESH_INTERVAL_MS = 3_000;
  static final long DEFAULT_DOWN_OUT_INTERVAL_MS = 3_600_000;

  static PolicySettings from(Configuration conf) {
    return new PolicySettings(
        groupPattern(conf.getTrimmed(GROUP_PATTERN, DEFAULT_GROUP_PATTERN)),
        Algorithm.parse(conf.getTrimmed(ALGORITHM, DEFAULT_ALGORITHM), ALGORITHM),
        atLeast(VNODES, conf.getInt(VNODES, DEFAULT_VNODES), 1),
        loadCap(conf),
        atLeast(REFRESH_INTERVAL_MS, conf.getLong(REFRESH_INTERVAL_MS,
            DEFAULT_REFRESH_INTERVAL_MS), 0),
        atLeast(DOWN_OUT_INTERVAL_MS, conf.getLong(DOWN_OUT_INTERVAL_MS,
            DEFAULT_DOWN_OUT_INTERVAL_MS), 0),
        rackReweighTolerance(conf),
        conf.getBoolean(BALANCER_CROSS_RACK, false));
  }

  private static Pattern groupPattern(String regex) {
    Pattern pattern;
    try {
      pattern = Pattern.compile(regex);
    } catch (PatternSyntaxException e) {
      throw new PlacementException(GROUP_PATTERN + "=" + regex + " is not a valid regex", e);
    }
    int groups = pattern.matcher("").groupCount();
    if (groups != 1) {
      throw new PlacementException(
          GROUP_PATTERN + "=" + regex + " has " + groups
              + " capture groups; it needs exactly one, the group key");
    }
    return pattern;
  }

  private static LoadCap loadCap(Configuration conf) {
    double epsilon = conf.getDouble(CAP_EPSILON, DEFAULT_CAP_EPSILON);
    double minGap = conf.getDouble(CAP_MIN_GAP, DEFAULT_CAP_MIN_GAP);
    try {
      return new LoadCap(epsilon, minGap);
    } catch (PlacementException e) {
      throw new PlacementException(
          "bad " + CAP_EPSILON + "=" + epsilon + " / " + CAP_MIN_GAP + "=" + minGap + ": "
              + e.getMessage(), e);
    }
  }

  private static double rackReweighTolerance(Configuration conf) {
    double tolerance =
        conf.getDouble(RACK_REWEIGH_TOLERANCE, Topology.DEFAULT_REWEIGH_TOLERANCE);
    try {
      return Topology.checkReweighTolerance(tolerance);
    } catch (PlacementException e) {
      throw new PlacementException("bad " + RACK_REWEIGH_TOLERANCE + ": " + e.getMessage(), e);
    }
  }

  private static <T extends Number & Comparable<T>> T atLeast(String key, T value, long min) {
    if (value.longValue() < min) {
      throw new PlacementException(key + "=" + value + " must be >= " + min);
    }
    return value;
  }

  /**
   * The placement keys of a file path, or null when the path is not a grouped file. The group key
   * is the pattern's capture; the item key adds the file name, which survives the rename from the
   * staging directory to the dataset, so re-replication after the rename ranks nodes the same way.
   */
  PlacementKeys keysFor(String path) {
    if (path == null) {
      return null;
    }
    var matcher = groupPattern.matcher(path);
    if (!matcher.matches()) {
      return null;
    }
    String group = matcher.group(1);
    if (group == null || group.isEmpty()) {
      return null;
    }
    String file = path.substring(path.lastIndexOf('/') + 1);
    return PlacementKeys.of(group, file);
  }
}
