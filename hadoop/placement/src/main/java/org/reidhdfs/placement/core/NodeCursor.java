package org.reidhdfs.placement.core;

/**
 * The nodes of one rack in a key's preference order, produced lazily: placement usually needs
 * only the first one or two, and ranking a whole rack per replica would waste most of the work.
 */
public interface NodeCursor {
  /** Returned by {@link #next()} when every node of the rack has been offered. */
  int NONE = -1;

  /** The next node (a {@link Topology} node index) in preference order, or {@link #NONE}. */
  int next();
}
