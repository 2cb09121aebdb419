package org.reidhdfs.placement.core;

/**
 * A placement input that cannot be used: a bad topology, weight, key pattern or setting.
 *
 * <p>The one exception type of the placement module, so callers (the NameNode log, the simulator's
 * command line) can tell configuration mistakes from Hadoop's own failures.
 */
public class PlacementException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public PlacementException(String message) {
    super(message);
  }

  public PlacementException(String message, Throwable cause) {
    super(message, cause);
  }
}
