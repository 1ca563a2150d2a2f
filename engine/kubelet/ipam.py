"""Node addressing: each node's podCIDR and InternalIP, and the host-local IPAM inside its podCIDR.

Nodes get ``10.244.<i>.0/24`` podCIDRs and ``172.18.x.y`` InternalIPs by registration index; the
kubelet hands out pod IPs from its node's /24 as the host-local CNI plugin does (``NodeIPAM``).
"""
from __future__ import annotations


def node_pod_cidr(index: int) -> str:
    """Return the podCIDR of the node registered ``index``-th: ``10.244.<index>.0/24``, then the next /16s.

    After the first 256 nodes come 10.245…10.255, then 10.128….
    """
    block, third = divmod(index, 256)
    second = 244 + block if block < 12 else 128 + (block - 12)
    return f"10.{second}.{third}.0/24"


def node_internal_ip(index: int) -> str:
    third, fourth = divmod(index, 250)
    return f"172.18.{third}.{fourth + 2}"


class NodeIPAM:
    """host-local IPAM for one node's /24: addresses .2-.254 handed out round-robin (.1 is the bridge)."""

    __slots__ = ("prefix", "used", "last")

    def __init__(self, cidr: str):
        self.prefix = cidr.rsplit(".", 1)[0] + "."
        self.used: set[int] = set()
        self.last = 1

    def allocate(self) -> str:
        for step in range(1, 254):
            host = (self.last - 2 + step) % 253 + 2
            if host not in self.used:
                self.used.add(host)
                self.last = host
                return self.prefix + str(host)
        raise RuntimeError(f"no free pod IP left in {self.prefix}0/24")

    def reserve(self, ip: str) -> None:
        if ip and ip.startswith(self.prefix):
            try:
                self.used.add(int(ip.rsplit(".", 1)[1]))
            except ValueError:
                pass

    def release(self, ip: str | None) -> None:
        if ip and ip.startswith(self.prefix):
            try:
                self.used.discard(int(ip.rsplit(".", 1)[1]))
            except ValueError:
                pass
