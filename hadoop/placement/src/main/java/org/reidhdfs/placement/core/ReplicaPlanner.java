package org.reidhdfs.placement.core;

import java.util.Arrays;

/**
 * Turns a group's rack order and an item's node orders into replica choices: the layout of the
 * paper's hash loop, with the fallbacks a real cluster needs.
 *
 * <p>Replicas fill roles in slot order: replica 1 HOME on the group's first rack, replica 2 REMOTE
 * on the next rack that holds none of the block yet, replica 3 HOME again, and EXTRA replicas
 * (beyond three) on further racks. With replication 2 there is one HOME and one REMOTE; with 1,
 * one HOME. Replicas that already exist (re-replication, pipeline recovery) take their roles
 * first, so a lost home copy is re-created on the home rack. A role walks its racks in the
 * group's order (a HOME replica tries the rack of the first HOME replica first) and,
 * inside each rack, the item's node order, offering nodes to an {@link Admission} that has the
 * final word (liveness, space, load cap); a refused node just passes the turn to the next one.
 * Each node is offered at most once per call.
 *
 * <p>Stateless and thread-safe.
 */
public final class ReplicaPlanner {

  /** What the caller checks and records when the planner proposes a rack or a node. */
  public interface Admission {
    /** False to pass over a whole rack (e.g. above its load cap). */
    boolean rackOpen(int rack);

    /** Places a replica on {@code node} if it can take one; false to try the next node. */
    boolean tryPlace(int node);
  }

  private ReplicaPlanner() {}

  /**
   * Places up to {@code wanted} more replicas of one item.
   *
   * @param algorithm     the hash functions and their topology
   * @param rackOrder     {@link PlacementAlgorithm#rackOrder} of the item's group (callers may
   *                      cache it per group)
   * @param itemKey       the item's key for node orders inside racks
   * @param wanted        how many replicas to add
   * @param existingRacks racks (topology indices, -1 if unknown) of replicas that already exist;
   *                      the admission must refuse the nodes that hold them
   * @param maxPerRack    most replicas of the item, existing included, on one rack
   * @param admission     final check and record of each replica
   * @return the number of replicas placed; fewer than {@code wanted} when no admitted node is left
   *         for a role, and the caller decides what to do with the rest
   */
  public static int plan(
      PlacementAlgorithm algorithm,
      int[] rackOrder,
      long itemKey,
      int wanted,
      int[] existingRacks,
      int maxPerRack,
      Admission admission) {
    if (wanted <= 0) {
      return 0;
    }
    Topology topology = algorithm.topology();
    Role[] roles = Role.layout(wanted + existingRacks.length);
    int homeRack = rackOrder[0];
    int[] perRack = new int[topology.rackCount()];
    for (int rack : existingRacks) {
      if (rack >= 0) {
        perRack[rack]++;
      }
      Role.take(roles, rack == homeRack ? Role.HOME : Role.REMOTE);
    }

    Walk walk = new Walk(algorithm, rackOrder, itemKey, maxPerRack, perRack, admission);
    int placed = 0;
    int firstHome = -1;
    for (Role role : roles) {
      if (role == null || placed == wanted) {
        continue;
      }
      int rack =
          switch (role) {
            case HOME -> walk.placeHome(firstHome);
            case REMOTE -> walk.placeOnNewRack(false);
            case EXTRA -> walk.placeOnNewRack(true);
          };
      if (rack >= 0) {
        placed++;
        if (role == Role.HOME && firstHome < 0) {
          firstHome = rack;
        }
      }
    }
    return placed;
  }

  /** The role of each replica slot, in the order the paper's layout fills them. */
  private enum Role {
    HOME,
    REMOTE,
    EXTRA;

    /** Replica 1 home, 2 remote, 3 home, any further ones extra. */
    static Role[] layout(int replication) {
      Role[] roles = new Role[replication];
      for (int i = 0; i < replication; i++) {
        roles[i] = i == 0 || i == 2 ? HOME : i == 1 ? REMOTE : EXTRA;
      }
      return roles;
    }

    /**
     * Marks the slot an existing replica fills: the wanted role if still open, else any open
     * slot (preferring extra ones), so that the remaining slots are what is really missing.
     */
    static void take(Role[] roles, Role wanted) {
      for (Role candidate : new Role[] {wanted, EXTRA, HOME, REMOTE}) {
        for (int i = 0; i < roles.length; i++) {
          if (roles[i] == candidate) {
            roles[i] = null;
            return;
          }
        }
      }
    }
  }

  /** The per-call state: replicas per rack and the node cursors of the racks visited. */
  private static final class Walk {
    private final PlacementAlgorithm algorithm;
    private final int[] rackOrder;
    private final long itemKey;
    private final int maxPerRack;
    private final int[] perRack;
    private final Admission admission;
    /** Node cursors of the racks visited: a second visit continues where the first stopped. */
    private int[] cursorRacks = new int[4];
    private NodeCursor[] cursors = new NodeCursor[4];
    private int cursorCount;

    Walk(
        PlacementAlgorithm algorithm,
        int[] rackOrder,
        long itemKey,
        int maxPerRack,
        int[] perRack,
        Admission admission) {
      this.algorithm = algorithm;
      this.rackOrder = rackOrder;
      this.itemKey = itemKey;
      this.maxPerRack = maxPerRack;
      this.perRack = perRack;
      this.admission = admission;
    }

    /** A HOME replica: the rack of an earlier HOME replica first, then the rack order. */
    int placeHome(int preferred) {
      if (preferred >= 0 && tryRack(preferred)) {
        return preferred;
      }
      for (int rack : rackOrder) {
        if (rack != preferred && tryRack(rack)) {
          return rack;
        }
      }
      return -1;
    }

    /**
     * A REMOTE or EXTRA replica: the first rack in order holding no replica yet; EXTRA replicas
     * may share a rack once every rack holds one.
     */
    int placeOnNewRack(boolean mayShare) {
      for (int rack : rackOrder) {
        if (perRack[rack] == 0 && tryRack(rack)) {
          return rack;
        }
      }
      if (mayShare) {
        for (int rack : rackOrder) {
          if (tryRack(rack)) {
            return rack;
          }
        }
      }
      return -1;
    }

    private boolean tryRack(int rack) {
      if (perRack[rack] >= maxPerRack || !admission.rackOpen(rack)) {
        return false;
      }
      NodeCursor nodes = cursorOf(rack);
      for (int node = nodes.next(); node != NodeCursor.NONE; node = nodes.next()) {
        if (admission.tryPlace(node)) {
          perRack[rack]++;
          return true;
        }
      }
      return false;
    }

    private NodeCursor cursorOf(int rack) {
      for (int i = 0; i < cursorCount; i++) {
        if (cursorRacks[i] == rack) {
          return cursors[i];
        }
      }
      if (cursorCount == cursors.length) {
        cursorRacks = Arrays.copyOf(cursorRacks, cursorCount * 2);
        cursors = Arrays.copyOf(cursors, cursorCount * 2);
      }
      NodeCursor cursor = algorithm.nodes(rack, itemKey);
      cursorRacks[cursorCount] = rack;
      cursors[cursorCount++] = cursor;
      return cursor;
    }
  }
}
