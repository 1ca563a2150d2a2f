"""The kube-scheduler of the simulated cluster: plugins, framework, queue and the scheduler loop."""
from __future__ import annotations

from .framework import FitError, Framework, SchedulerCache, num_feasible_nodes_to_find
from .scheduler import Scheduler

__all__ = ["FitError", "Framework", "Scheduler", "SchedulerCache", "num_feasible_nodes_to_find"]
