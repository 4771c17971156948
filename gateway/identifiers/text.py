"""Text folding shared by the identifier normalisers."""

from __future__ import annotations

import unicodedata

_SEPARATORS = str.maketrans("", "", " \t-\u3000\u2010\u2011\u2012\u2013\u2014\u2212")


def fold_digits(value: str) -> str:
    """Return ``value`` with full-width forms folded (NFKC) and separators removed.

    Parameters
    ----------
    value
        Raw text such as ``"１３８ 0013-8000"``.

    Returns
    -------
    str
        ``"13800138000"`` for the example above.

    """
    return unicodedata.normalize("NFKC", value).translate(_SEPARATORS)
