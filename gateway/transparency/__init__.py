"""Member-witnessed transparency: node audit logs, the consortium key log, witnessing, peer-key gate.

Built on :mod:`gateway.tlog` (the one log construction). The bureau keeps the key log and
relays checkpoints (``bureau``); each member publishes its audit log's checkpoints, mirrors
and co-signs the key log, co-signs the other nodes' logs and watches its own keys
(``agent``); a member accepts a peer's certificate and keys only through ``gate``.
"""
