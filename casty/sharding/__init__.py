"""Sharding: envelopes, a stable entity-to-shard hash, regions with passivation."""

from casty.sharding.envelope import Passivate, ShardEnvelope
from casty.sharding.gateway import EntityGateway
from casty.sharding.hashing import shard_of
from casty.sharding.region import ShardRegion

__all__ = ["EntityGateway", "Passivate", "ShardEnvelope", "ShardRegion", "shard_of"]
