package org.reidhdfs.placement;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy's former name, kept so that an existing {@code hdfs-site.xml} naming it still starts
 * the NameNode with the same placement. It was misleading: the default hashing is rendezvous, not a
 * ring.
 *
 * @deprecated set {@code dfs.block.replicator.classname} to {@link
 *     GroupColocationBlockPlacementPolicy#CLASS_NAME}; this name will be removed.
 */
@Deprecated
public class HashRingBlockPlacementPolicy extends GroupColocationBlockPlacementPolicy {
  private static final Logger DEPRECATION_LOG =
      LoggerFactory.getLogger(HashRingBlockPlacementPolicy.class);

  public HashRingBlockPlacementPolicy() {
    DEPRECATION_LOG.warn("dfs.block.replicator.classname={} is deprecated; set it to {}, which"
        + " places blocks the same way", HashRingBlockPlacementPolicy.class.getName(),
        GroupColocationBlockPlacementPolicy.CLASS_NAME);
  }
}
