package org.reidhdfs.placement;

import org.reidhdfs.placement.core.KeyHash;
import org.reidhdfs.placement.core.LoadCap;

/**
 * The hashes the policy places one file by: its group (which racks), the file itself (which nodes
 * inside a rack) and its load-cap priority.
 */
record PlacementKeys(String group, long groupKey, long itemKey, double priority) {
  static PlacementKeys of(String group, String file) {
    long itemKey = KeyHash.of(group + "/" + file);
    return new PlacementKeys(group, KeyHash.of(group), itemKey, LoadCap.priority(itemKey));
  }
}
