"""The plug-in jars are checked against the classes the site files name, before a daemon starts."""

from __future__ import annotations

import pytest

from hadoop.errors import JavaNotFoundError
from hadoop.jvm import require_plugin_class
from hadoop.siteconf import load_site

KEY = "dfs.block.replicator.classname"


def test_the_configured_placement_policy_is_in_the_built_jar() -> None:
    require_plugin_class(KEY, load_site()[KEY])


def test_a_class_missing_from_the_jars_says_to_rebuild_them() -> None:
    with pytest.raises(JavaNotFoundError, match=r"Nope is in none of the built plug-ins .*"
                                                r"reid-placement\.jar.*make setup"):
        require_plugin_class(KEY, "org.reidhdfs.placement.Nope")


def test_hadoops_own_classes_are_not_looked_for() -> None:
    require_plugin_class(KEY, "org.apache.hadoop.hdfs.server.blockmanagement."
                              "BlockPlacementPolicyRackFaultTolerant")
