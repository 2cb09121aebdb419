"""How to run Hadoop's Java classes: the java binary, the classpath, the JVM options.

Hadoop's release scripts add ``--add-opens`` flags for Java 17; a plain ``java -cp`` skips those
scripts, so every JVM the project starts (daemons and tools alike) takes its options from here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from hadoop.errors import JavaNotFoundError
from hadoop.siteconf import CONF_DIR, host_env

HADOOP_DIR = Path(__file__).resolve().parent
LIB_DIR = HADOOP_DIR / "lib"
PLUGIN_JARS = (
    HADOOP_DIR / "netbind" / "target" / "reid-netbind.jar",
    HADOOP_DIR / "placement" / "target" / "reid-placement.jar",
)
MIN_JAVA = 17
_OPENS = ("java.io", "java.lang", "java.lang.reflect", "java.math", "java.net", "java.nio",
          "java.text", "java.util", "java.util.concurrent", "java.util.zip",
          "sun.security.util", "sun.security.x509", "sun.nio.ch")
JVM_OPTIONS = ("-XX:+IgnoreUnrecognizedVMOptions", "-Djava.net.preferIPv4Stack=true",
               *(f"--add-opens=java.base/{pkg}=ALL-UNNAMED" for pkg in _OPENS))
# Heaps of the daemons, the same in the local launcher and the containers.
DAEMON_HEAP = {"namenode": "768m", "datanode": "320m", "journalnode": "128m", "zkfc": "128m",
               "zookeeper": "128m"}
# Every daemon shares its host's cores with the clients it serves. C2's compile threads, in
# seven JVMs at once, burn more CPU than they save for daemons whose hot paths are system calls:
# with C1 only, a DataNode's CPU per range read is the same once warm, it spends far less
# compiling, and the cluster starts sooner (README, "The cluster").
DAEMON_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)

MAIN_CLASSES = {
    "namenode": "org.apache.hadoop.hdfs.server.namenode.NameNode",
    "datanode": "org.apache.hadoop.hdfs.server.datanode.DataNode",
    "dfs": "org.apache.hadoop.fs.FsShell",
    "dfsadmin": "org.apache.hadoop.hdfs.tools.DFSAdmin",
    "fsck": "org.apache.hadoop.hdfs.tools.DFSck",
    "getconf": "org.apache.hadoop.hdfs.tools.GetConf",
    "balancer": "org.apache.hadoop.hdfs.server.balancer.Balancer",
    "journalnode": "org.apache.hadoop.hdfs.qjournal.server.JournalNode",
    "zkfc": "org.apache.hadoop.hdfs.tools.DFSZKFailoverController",
    "haadmin": "org.apache.hadoop.hdfs.tools.DFSHAAdmin",
    "zookeeper": "org.apache.zookeeper.server.ZooKeeperServerMain",
}


@cache
def java_binary() -> str:
    """The ``java`` to use (``$JAVA_HOME/bin/java`` first), checked to be Java 17 or newer."""
    home = os.environ.get("JAVA_HOME")
    candidate = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not candidate or not os.access(candidate, os.X_OK):
        raise JavaNotFoundError(
            "Java 17 or newer is needed to run Hadoop and none was found "
            f"({'JAVA_HOME=' + home if home else 'no java on PATH'}); "
            "install it with `apt-get install openjdk-17-jdk-headless` or set JAVA_HOME")
    out = subprocess.run([candidate, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', out.stderr + out.stdout)
    if not match or int(match.group(1)) < MIN_JAVA:
        raise JavaNotFoundError(f"{candidate} is not Java {MIN_JAVA}+ "
                                f"({(out.stderr or out.stdout).splitlines()[:1]})")
    return candidate


def classpath(conf_dir: Path = CONF_DIR) -> str:
    """Config dir first (site files, log4j.properties), then Hadoop's jars and our plug-ins."""
    if not any(LIB_DIR.glob("hadoop-hdfs-client-*.jar")):
        raise JavaNotFoundError(f"Hadoop jars are missing from {LIB_DIR}: run `make setup`")
    missing = [str(jar) for jar in PLUGIN_JARS if not jar.exists()]
    if missing:
        raise JavaNotFoundError("the project's Hadoop plug-ins are not built "
                                f"({', '.join(missing)}): run `make setup`")
    return os.pathsep.join([str(conf_dir), str(LIB_DIR / "*"), *map(str, PLUGIN_JARS)])


def require_plugin_class(setting: str, class_name: str) -> None:
    """A project class that a site setting names must be in the built plug-in jars: jars built
    before a rename would otherwise fail the daemon deep in its start-up."""
    if not class_name.startswith("org.reidhdfs."):
        return
    entry = class_name.replace(".", "/") + ".class"
    for jar in PLUGIN_JARS:
        try:
            with zipfile.ZipFile(jar) as archive:
                if entry in archive.namelist():
                    return
        except (OSError, zipfile.BadZipFile):
            continue
    raise JavaNotFoundError(f"{setting}={class_name} is in none of the built plug-ins "
                            f"({', '.join(str(jar) for jar in PLUGIN_JARS)}): rebuild them "
                            "with `make setup`")


def java_command(main: str, args: list[str], *, conf_dir: Path = CONF_DIR,
                 heap: str = "256m", system_props: dict[str, str] | None = None,
                 jvm_options: Sequence[str] = ()) -> list[str]:
    """The argv that runs ``main`` (a MAIN_CLASSES key or a class name) with ``args``."""
    main_class = MAIN_CLASSES.get(main, main)
    wanted = dict(system_props or {})
    if os.environ.get("KRB5_CONFIG"):  # MIT's variable; Java reads only its own property
        wanted.setdefault("java.security.krb5.conf", os.environ["KRB5_CONFIG"])
    props = [f"-D{key}={value}" for key, value in wanted.items()]
    return [java_binary(), f"-Xmx{heap}", *JVM_OPTIONS, *jvm_options, *props,
            "-cp", classpath(conf_dir), main_class, *args]


def hadoop_env(conf_dir: Path = CONF_DIR, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Hadoop processes get: HADOOP_CONF_DIR locates topology.sh and racks.csv."""
    env = {**host_env(conf_dir), **os.environ}  # the HA hosts' addresses: racks.csv's
    env["HADOOP_CONF_DIR"] = str(conf_dir)
    env.update(extra or {})
    return env
