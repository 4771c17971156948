"""Subject tokens: naming a person across institutions without sharing their ID.

A member turns an identifier into an OPRF input (:func:`token_input`), blinds
it, has the bureau evaluate it blindly, and unblinds the result into a
:class:`SubjectToken`. The protocol itself lives in :mod:`gateway.tokens.oprf`
(see ``docs/oprf.md``).
"""

from gateway.tokens.subject import SubjectToken, TokenType, token_input, token_inputs

__all__ = ["SubjectToken", "TokenType", "token_input", "token_inputs"]
