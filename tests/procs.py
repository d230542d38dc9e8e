"""What a test checks after stopping workers: no live child process and no worker thread left behind."""

import threading

import psutil


def live_children() -> list[psutil.Process]:
    """Live child processes, except multiprocessing's resource tracker (one per session, by design)."""
    alive = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(p.cmdline()):
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


def worker_threads() -> list[str]:
    """Names of rlteach worker threads still running."""
    return [t.name for t in threading.enumerate() if t.name.startswith("rlteach-worker")]
