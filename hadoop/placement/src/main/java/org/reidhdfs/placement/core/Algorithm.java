package org.reidhdfs.placement.core;

import java.util.Locale;

/** The selectable placement algorithms, by the name used in configuration and on the CLI. */
public enum Algorithm {
  /** Two-level weighted rendezvous hashing (straw2); {@code vnodes} is ignored. */
  HRW,
  /** Two-level consistent-hash ring with {@code vnodes} virtual nodes per node. */
  RING;

  public PlacementAlgorithm create(Topology topology, int vnodes) {
    return switch (this) {
      case HRW -> new RendezvousPlacement(topology);
      case RING -> new RingPlacement(topology, vnodes);
    };
  }

  /** The lower-case name used in configuration ({@code hrw}, {@code ring}). */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a configuration value; {@code source} names where it came from for the error. */
  public static Algorithm parse(String value, String source) {
    for (Algorithm algorithm : values()) {
      if (algorithm.configName().equals(value.trim().toLowerCase(Locale.ROOT))) {
        return algorithm;
      }
    }
    throw new PlacementException(
        source + "=" + value + " is not a placement algorithm; use hrw or ring");
  }
}
