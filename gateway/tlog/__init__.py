"""The transparency log: one RFC 9162 Merkle-tree construction, C2SP checkpoints and co-signatures.

Every node's audit log and the bureau's consortium key log are built from this package:
``merkle`` (hashing and proofs), ``note`` (signed notes, checkpoints, co-signatures),
``tree`` (the SQL-backed tree), ``evidence`` (signed proof of a log's misbehaviour).
"""
