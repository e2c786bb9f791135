"""A Spark standalone cluster on this machine for the tests: one master and one worker, started from the PySpark
installation (``bin/spark-class org.apache.spark.deploy.master.Master`` / ``...worker.Worker``), bound to 127.0.0.1 on
free ports, with small memory, and stopped at the end (see the ``spark_cluster`` fixture in tests/conftest.py).

The kit then runs against ``spark://127.0.0.1:PORT`` in a separate Python process (the test process holds the local
session of the ``spark_session`` fixture, and one process has one SparkContext): a driver in that process, an
executor JVM started by the worker in its own work folder, Python workers forked by the executor. Nothing is shared
with the driver but the files passed by path (a Parquet folder, as on a cluster's shared storage).

The same commands by hand (docs/engines.md, "Running on a cluster")::

    SPARK_HOME=$(python -c 'import pyspark, os; print(os.path.dirname(pyspark.__file__))')
    $SPARK_HOME/bin/spark-class org.apache.spark.deploy.master.Master --host 127.0.0.1 --port 7077 --webui-port 8080
    $SPARK_HOME/bin/spark-class org.apache.spark.deploy.worker.Worker spark://127.0.0.1:7077 \\
        --host 127.0.0.1 --cores 1 --memory 1g --work-dir /tmp/spark-work
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

#: How long the master and the worker may take to come up on a busy machine (JVM start, registration).
START_TIMEOUT_S = 180.0
#: Memory of each daemon JVM (master, worker) and what the worker offers executors.
DAEMON_MEMORY = "256m"
WORKER_MEMORY = "1g"
#: JVM options of every JVM of the test cluster (daemons, driver, executor): the client compiler only and the serial
#: collector, for short-lived JVMs on a small machine (less CPU on JIT compilation and GC threads; no other effect).
SMALL_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
#: Settings of a driver run against the cluster (a small executor; everything bound to 127.0.0.1).
DRIVER_CONFIG = {
    "spark.driver.extraJavaOptions": SMALL_JVM,
    "spark.executor.extraJavaOptions": SMALL_JVM,
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.memory": "512m",
    "spark.executor.memory": "512m",
    "spark.executor.cores": "1",
    "spark.cores.max": "1",
    "spark.sql.shuffle.partitions": "2",
    "spark.ui.enabled": "false",
    # a few hundred rows: compiling each query's whole-stage Java code costs more CPU than it saves
    "spark.sql.codegen.wholeStage": "false",
}


def spark_home() -> Path:
    """The Spark distribution inside the PySpark package (``bin/spark-class``, ``jars/``)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def why_no_cluster() -> str | None:
    """Why no cluster can be started here (no Java, no PySpark), or None."""
    try:
        home = spark_home()
    except ImportError:
        return "PySpark is not installed (pip install 'rfmkit[spark]')"
    if not (home / "bin" / "spark-class").is_file():
        return f"{home}/bin/spark-class is missing from the PySpark installation"
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and (Path(java_home) / "bin" / "java").is_file()) and shutil.which("java") is None:
        return "no Java on PATH or in JAVA_HOME: a Spark standalone master and worker need Java 17+"
    return None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StandaloneCluster:
    """A running master and worker: ``url`` (``spark://127.0.0.1:PORT``), their processes and log files, and how
    long they took to come up (``start_seconds``, wall)."""

    url: str
    folder: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    start_seconds: float = 0.0

    def env(self) -> dict[str, str]:
        """The environment of a driver process run against the cluster (``SPARK_MASTER``, the executors' Python)."""
        import sys

        return {
            **os.environ,
            "SPARK_MASTER": self.url,
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
        }

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the master and the worker, with the executors the worker has reaped (the
        executors of finished applications), from ``/proc`` (0 where it cannot be read)."""
        total = 0.0
        for proc in self.processes:
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime
        return total

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(
            f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-lines:])
            for p in self.logs
            if p.exists()
        )

    def stop(self) -> None:
        """Stop the worker, then the master (the processes started here, by their ids)."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=30)


def _start(cluster: StandaloneCluster, name: str, args: list[str]) -> subprocess.Popen:
    env = {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": DAEMON_MEMORY,
        "SPARK_DAEMON_JAVA_OPTS": SMALL_JVM,
        "SPARK_LOG_DIR": str(cluster.folder),
        "SPARK_NO_DAEMONIZE": "1",
    }
    out = cluster.folder / f"{name}.log"
    cluster.logs.append(out)
    with open(out, "wb") as handle:
        proc = subprocess.Popen(
            [str(spark_home() / "bin" / "spark-class"), *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cluster.folder,
        )
    cluster.processes.append(proc)
    return proc


def _wait_for(cluster: StandaloneCluster, proc: subprocess.Popen, log: Path, text: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    cluster.stop()
    raise RuntimeError(f"the Spark {log.stem} did not start ({text!r} not logged):\n{cluster.log_tail()}")


def start_cluster(folder: Path, cores: int = 1, memory: str = WORKER_MEMORY) -> StandaloneCluster:
    """Start a master and one worker (``cores`` cores, ``memory`` for executors; ``benchmarks/scale.py
    --spark-master start`` gives it more) in ``folder`` and wait until the worker has registered; RuntimeError with
    the logs when they do not come up within :data:`START_TIMEOUT_S`."""
    began = time.monotonic()
    deadline = began + START_TIMEOUT_S
    port = free_port()
    cluster = StandaloneCluster(f"spark://127.0.0.1:{port}", folder)
    master = _start(
        cluster,
        "master",
        ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
         "--webui-port", str(free_port())],
    )  # fmt: skip
    _wait_for(cluster, master, cluster.logs[-1], "I have been elected leader", deadline)
    worker = _start(
        cluster,
        "worker",
        ["org.apache.spark.deploy.worker.Worker", cluster.url, "--host", "127.0.0.1", "--port", str(free_port()),
         "--webui-port", str(free_port()), "--cores", str(cores), "--memory", memory,
         "--work-dir", str(folder / "work")],
    )  # fmt: skip
    _wait_for(cluster, worker, cluster.logs[-1], "Successfully registered with master", deadline)
    cluster.start_seconds = time.monotonic() - began
    return cluster
