"""Hypothesis properties: the blind protocol equals Evaluate; keys and inputs separate outputs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.tokens.oprf import OPRFServerKey, blind, blind_evaluate, finalize
from gateway.tokens.oprf.server import evaluate

KEY_1 = OPRFServerKey.generate(epoch=1)
KEY_2 = OPRFServerKey.generate(epoch=2)
inputs = st.binary(min_size=0, max_size=200)


def tokenise(key: OPRFServerKey, items: list[bytes]) -> list[bytes]:
    batch = blind(items)
    return finalize(items, batch.blinds, blind_evaluate(key, batch.blinded_elements))


@settings(max_examples=40, deadline=None)
@given(st.lists(inputs, min_size=1, max_size=8))
def test_blind_evaluate_finalize_equals_server_side_evaluate(items: list[bytes]) -> None:
    # Execute
    outputs = tokenise(KEY_1, items)

    # Assert
    assert outputs == [evaluate(KEY_1, item) for item in items]
    assert all(len(output) == 64 for output in outputs)


@settings(max_examples=40, deadline=None)
@given(inputs)
def test_fresh_blinds_give_the_same_output_but_different_blinded_elements(item: bytes) -> None:
    # Execute
    first, second = blind([item]), blind([item])

    # Assert: what the bureau sees is unlinkable, what the member gets is stable.
    assert first.blinded_elements != second.blinded_elements
    assert tokenise(KEY_1, [item]) == tokenise(KEY_1, [item])


@settings(max_examples=40, deadline=None)
@given(inputs)
def test_the_same_input_under_two_epochs_gives_different_outputs(item: bytes) -> None:
    assert tokenise(KEY_1, [item]) != tokenise(KEY_2, [item])


@settings(max_examples=40, deadline=None)
@given(st.lists(inputs, min_size=2, max_size=6, unique=True))
def test_different_inputs_give_different_outputs(items: list[bytes]) -> None:
    outputs = tokenise(KEY_1, items)

    assert len(set(outputs)) == len(items)


@settings(max_examples=20, deadline=None)
@given(st.lists(inputs, min_size=1, max_size=5))
def test_a_wrong_blind_order_breaks_the_output(items: list[bytes]) -> None:
    # Prepare: finalize must pair each answer with its own blind.
    items = [*items, b"\x00sentinel"]
    batch = blind(items)
    evaluated = blind_evaluate(KEY_1, batch.blinded_elements)

    # Execute
    swapped = finalize(items, batch.blinds[::-1], evaluated)

    # Assert
    expected = [evaluate(KEY_1, item) for item in items]
    assert swapped[0] != expected[0]
