"""The seven distributed structures and the ``Distributed`` facade."""

from casty.distributed.barrier import Barrier
from casty.distributed.counter import Counter
from casty.distributed.dictionary import Dict
from casty.distributed.facade import STRUCTURES, Distributed, persistence_id
from casty.distributed.lock import Lock
from casty.distributed.queue import Queue
from casty.distributed.semaphore import PermitStatus, Semaphore
from casty.distributed.set import Set

__all__ = [
    "STRUCTURES",
    "Barrier",
    "Counter",
    "Dict",
    "Distributed",
    "Lock",
    "PermitStatus",
    "Queue",
    "Semaphore",
    "Set",
    "persistence_id",
]
