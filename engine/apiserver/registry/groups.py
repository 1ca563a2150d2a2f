"""The small API groups' strategies: storage, policy, coordination and discovery.

StorageClass (``pkg/registry/storage/storageclass``), PodDisruptionBudget (``pkg/registry/policy``), Lease
(``pkg/registry/coordination``) and EndpointSlice (``pkg/registry/discovery``).
"""
from __future__ import annotations

from .. import defaults
from ..validation.groups import (validate_endpointslice, validate_endpointslice_update, validate_lease_spec,
                                 validate_pdb_spec, validate_storageclass, validate_storageclass_update)
from .strategy import Strategy, on_raw_spec

STRATEGIES = (
    Strategy("EndpointSlice", default=defaults.default_endpointslice, generation=False,
             check=validate_endpointslice, check_update=validate_endpointslice_update),
    Strategy("StorageClass", default=defaults.default_storageclass, check=validate_storageclass,
             check_update=validate_storageclass_update),
    Strategy("Lease", generation=False, check=on_raw_spec(validate_lease_spec)),
    Strategy("PodDisruptionBudget", reset_status=True, check=on_raw_spec(validate_pdb_spec)),
)
