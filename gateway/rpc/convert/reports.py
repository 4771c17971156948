"""``credgate.v1`` regulator-report messages ⇄ domain values.

Cells travel under their dimensions' ASCII names (``Dimension.wire_cells``); the regulator
maps them back to labels with the same template.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gateway._proto.credgate.v1 import common_pb2, regulator_report_pb2
from gateway.errors import InvalidInputError
from gateway.queries.reports.messages import OpenRequest, Phase, ShareRequest
from gateway.reports.order import ReportOrder, SignedOrder
from gateway.reports.release import (
    HistogramRelease,
    MarginRelease,
    Release,
    ReleaseCell,
    SuppressionReason,
    Treatment,
)
from gateway.reports.templates import HistogramSpec, MarginSpec, ReportTemplate
from gateway.rpc.convert.subject_check import (
    ALGORITHMS,
    check_algorithms,
    from_timestamp,
    new_header,
    timestamp,
)

_TREATMENTS = {
    Treatment.NOISED: regulator_report_pb2.CELL_TREATMENT_NOISED,
    Treatment.SUPPRESSED: regulator_report_pb2.CELL_TREATMENT_SUPPRESSED,
}
_TREATMENT_OF = {value: treatment for treatment, value in _TREATMENTS.items()}


def share_request_to_proto(request: ShareRequest) -> regulator_report_pb2.ComputeReportShareRequest:
    """The bureau's request to one member."""
    header = common_pb2.RequestHeader(
        idempotency_key=request.idempotency_key,
        query_time=timestamp(request.query_time),
        vector_layout_version=request.template_version,
        algorithms=ALGORITHMS,
        attempt=request.attempt,
    )
    return regulator_report_pb2.ComputeReportShareRequest(
        header=header,
        template_id=request.template_id,
        period=request.period,
        request_hash=request.request_hash,
        answering_set_hash=request.answering_set_hash,
        answering_member_ids=list(request.participants),
        regulator_member_id=request.regulator,
        phase=int(request.phase),
        noisy_totals=list(request.noisy_totals),
        order_nonce=request.order.order.nonce,
        order_signature=request.order.signature,
        regulator_certificate=request.order.certificate_der,
    )


def share_request_from_proto(message: regulator_report_pb2.ComputeReportShareRequest) -> ShareRequest:
    """Validate and convert the bureau's request.

    Raises
    ------
    InvalidInputError
        When the header lacks the query time, the hashes are not 32 bytes or the phase is unknown.

    """
    check_algorithms(message.header.algorithms)
    if not message.header.HasField("query_time"):
        raise InvalidInputError("the bureau must stamp the query time", field="header.query_time")
    for name in ("request_hash", "answering_set_hash"):
        if len(getattr(message, name)) != 32:
            raise InvalidInputError("expected 32 bytes", field=name)
    if message.phase not in {int(p) for p in Phase}:
        raise InvalidInputError(f"expected phase 1, 2 or 3, received {message.phase}", field="phase")
    if not message.order_signature or not message.regulator_certificate:
        raise InvalidInputError("a report share needs the regulator's signed order", field="order_signature")
    order = SignedOrder(
        ReportOrder(message.template_id, message.period, message.order_nonce),
        message.order_signature,
        message.regulator_certificate,
    )
    return ShareRequest(
        query_time=from_timestamp(message.header.query_time, field="header.query_time"),
        idempotency_key=message.header.idempotency_key,
        attempt=message.header.attempt,
        template_id=message.template_id,
        template_version=message.header.vector_layout_version,
        period=message.period,
        regulator=message.regulator_member_id,
        request_hash=message.request_hash,
        answering_set_hash=message.answering_set_hash,
        participants=tuple(message.answering_member_ids),
        phase=Phase(message.phase),
        order=order,
        noisy_totals=tuple(message.noisy_totals),
    )


def open_request_to_proto(request: OpenRequest) -> regulator_report_pb2.OpenReportShareRequest:
    """The bureau asking a member to reveal one attempt's self-mask."""
    return regulator_report_pb2.OpenReportShareRequest(
        header=new_header(),
        request_hash=request.request_hash,
        phase=int(request.phase),
        attempt=request.attempt,
        answering_set_hash=request.answering_set_hash,
    )


def open_request_from_proto(message: regulator_report_pb2.OpenReportShareRequest) -> OpenRequest:
    """Validate and convert the bureau's request to open an attempt.

    Raises
    ------
    InvalidInputError
        When a hash is not 32 bytes or the phase is unknown.

    """
    for name in ("request_hash", "answering_set_hash"):
        if len(getattr(message, name)) != 32:
            raise InvalidInputError("expected 32 bytes", field=name)
    if message.phase not in {int(p) for p in Phase}:
        raise InvalidInputError(f"expected phase 1, 2 or 3, received {message.phase}", field="phase")
    return OpenRequest(
        message.request_hash, Phase(message.phase), message.attempt, message.answering_set_hash
    )


def order_from_proto(
    message: regulator_report_pb2.RequestReportRequest, *, certificate_der: bytes
) -> SignedOrder:
    """The regulator's order as it arrived, with the certificate its TLS handshake presented.

    Raises
    ------
    InvalidInputError
        When the order is incomplete (an order is required since issue #13).

    """
    if not message.order_signature:
        raise InvalidInputError(
            "a report request must carry the regulator's signed order", field="order_signature"
        )
    return SignedOrder(
        ReportOrder(message.template_id, message.period, message.nonce),
        message.order_signature,
        certificate_der,
    )


def share_to_proto(
    values: npt.NDArray[np.uint64], *, template_version: int
) -> regulator_report_pb2.ComputeReportShareResponse:
    """A member's masked vector, as a one-row matrix."""
    share = common_pb2.MaskedMatrix(
        layout_version=template_version, rows=1, columns=values.size, values=values.tolist()
    )
    return regulator_report_pb2.ComputeReportShareResponse(share=share)


def share_from_proto(
    message: regulator_report_pb2.ComputeReportShareResponse, *, width: int
) -> npt.NDArray[np.uint64]:
    """The member's masked vector; the width must be the layout's.

    Raises
    ------
    InvalidInputError
        When the matrix is not one row of ``width`` values.

    """
    share = message.share
    if share.rows != 1 or share.columns != width or len(share.values) != width:
        raise InvalidInputError(f"expected one row of {width} values", field="share")
    return np.asarray(share.values, dtype=np.uint64)


def release_to_proto(
    release: Release, template: ReportTemplate, *, from_cache: bool
) -> regulator_report_pb2.RequestReportResponse:
    """The release as the regulator receives it (cells under their wire names)."""
    histograms = []
    for histogram in release.histograms:
        spec = template.histogram(histogram.histogram_id)
        cells = [
            _cell_to_proto(cell, template.wire_coordinates(spec, index))
            for index, cell in enumerate(histogram.cells)
        ]
        margins = [
            regulator_report_pb2.ReleasedMargin(
                dimensions=list(margin.dimensions),
                cells=[
                    _cell_to_proto(cell, _margin_wire(template, spec, margin.dimensions, index))
                    for index, cell in enumerate(margin.cells)
                ],
            )
            for margin in histogram.margins
        ]
        histograms.append(
            regulator_report_pb2.ReleasedHistogram(
                histogram_id=histogram.histogram_id,
                cells=cells,
                rho=histogram.rho,
                noise_variance=histogram.noise_variance,
                margins=margins,
            )
        )
    return regulator_report_pb2.RequestReportResponse(
        template_id=release.template_id,
        period=release.period,
        histograms=histograms,
        coverage=common_pb2.Coverage(
            members_answered=release.answering_members, participants=release.answering_members
        ),
        rho_spent=release.rho,
        from_cache=from_cache,
        template_version=release.template_version,
        colluders=release.colluders,
        institution_rules_applied=release.institution_rules_applied,
        released_at=timestamp(release.released_at),
        max_members_per_person=release.max_members_per_person,
        rho_per_person=release.rho_per_person,
    )


def _cell_to_proto(cell: ReleaseCell, coordinates: tuple[str, ...]) -> regulator_report_pb2.ReleasedCell:
    return regulator_report_pb2.ReleasedCell(
        coordinates=list(coordinates),
        noisy_count=cell.noisy_count or 0,
        treatment=_TREATMENTS[cell.treatment],
        suppression_reasons=[reason.value for reason in cell.reasons],
        standard_error=cell.standard_error,
    )


def _margin_wire(
    template: ReportTemplate, spec: HistogramSpec, dimensions: tuple[str, ...], index: int
) -> tuple[str, ...]:
    sizes = [len(template.dimensions[name].wire_cells) for name in dimensions]
    positions: list[int] = []
    for size in reversed(sizes):
        index, position = divmod(index, size)
        positions.append(position)
    return tuple(
        template.dimensions[name].wire_cells[p]
        for name, p in zip(dimensions, reversed(positions), strict=True)
    )


def release_from_proto(
    message: regulator_report_pb2.RequestReportResponse, template: ReportTemplate, *, regulator: str
) -> Release:
    """The release the regulator received, cells back under their template labels.

    Raises
    ------
    InvalidInputError
        When the response does not fit the template (version, histograms or cells).

    """
    if message.template_id != template.template_id or message.template_version != template.version:
        raise InvalidInputError(
            f"expected template {template.template_id} v{template.version}, received "
            f"{message.template_id} v{message.template_version}",
            field="template_version",
        )
    histograms = tuple(_histogram_from_proto(h, template) for h in message.histograms)
    return Release(
        template_id=message.template_id,
        template_version=message.template_version,
        period=message.period,
        regulator=regulator,
        answering_members=message.coverage.members_answered,
        colluders=message.colluders,
        institution_rules_applied=message.institution_rules_applied,
        rho=message.rho_spent,
        released_at=from_timestamp(message.released_at, field="released_at"),
        histograms=histograms,
        max_members_per_person=message.max_members_per_person,
        rho_per_person=message.rho_per_person,
    )


def _histogram_from_proto(
    message: regulator_report_pb2.ReleasedHistogram, template: ReportTemplate
) -> HistogramRelease:
    spec = template.histogram(message.histogram_id)
    if len(message.cells) != template.width(spec):
        raise InvalidInputError(
            f"expected {template.width(spec)} cells in {spec.id}, received {len(message.cells)}",
            field="cells",
        )
    cells: list[ReleaseCell | None] = [None] * template.width(spec)
    for cell in message.cells:
        index = template.index_of(spec, tuple(cell.coordinates))
        treatment = _TREATMENT_OF.get(cell.treatment)
        if treatment is None:
            raise InvalidInputError("expected a cell treatment", field="cells.treatment")
        suppressed = treatment is Treatment.SUPPRESSED
        cells[index] = ReleaseCell(
            template.coordinates(spec, index),
            None if suppressed else cell.noisy_count,
            treatment,
            tuple(SuppressionReason(reason) for reason in cell.suppression_reasons),
            0.0 if suppressed else cell.standard_error,
        )
    if any(cell is None for cell in cells):
        raise InvalidInputError(f"a cell of {spec.id} appears twice", field="cells.coordinates")
    margins: list[MarginRelease] = []
    for margin in message.margins:
        dimensions = tuple(margin.dimensions)
        if not set(dimensions) <= set(spec.dimensions):
            raise InvalidInputError(
                f"a total of {spec.id} names unknown dimensions", field="margins.dimensions"
            )
        width = template.margin_width(spec, MarginSpec(dimensions=dimensions, rho=1.0))
        if len(margin.cells) != width:
            raise InvalidInputError(f"expected {width} totals", field="margins.cells")
        margins.append(
            MarginRelease(
                dimensions,
                tuple(
                    ReleaseCell(
                        template.margin_coordinates(spec, MarginSpec(dimensions=dimensions, rho=1.0), index),
                        cell.noisy_count,
                        Treatment.NOISED,
                        (),
                        cell.standard_error,
                    )
                    for index, cell in enumerate(margin.cells)
                ),
            )
        )
    return HistogramRelease(
        spec.id,
        spec.title,
        spec.dimensions,
        message.rho,
        message.noise_variance,
        tuple(cell for cell in cells if cell is not None),
        tuple(margins),
    )
