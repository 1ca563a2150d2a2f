"""Kubedrill engine: a deterministic simulation of the Kubernetes control plane.

Pure Python: no Flask, no threads, no wall clock. See README "Architecture".
"""
