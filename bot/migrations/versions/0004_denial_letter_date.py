"""A denial's letter date on the request (denial.sent_on), for requests denied before it was kept there.

The follow-up reminder after a denial is counted from that date (RecordsRequest.answered_on); requests whose denial
letter went out earlier carry it only on their sent letter (drafts): copied from the earliest one.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DENIAL_LETTERS = ("denial", "partial_denial")


def upgrade() -> None:
    bind = op.get_bind()
    requests = sa.table("records_requests", sa.column("id", sa.Integer), sa.column("denial", sa.JSON))
    drafts = sa.table(
        "drafts", sa.column("request_id", sa.Integer), sa.column("kind", sa.String), sa.column("sent_on", sa.Date)
    )
    first_letter = (
        sa.select(drafts.c.request_id, sa.func.min(drafts.c.sent_on))
        .where(drafts.c.kind.in_(DENIAL_LETTERS), drafts.c.sent_on.is_not(None))
        .group_by(drafts.c.request_id)
    )
    sent = dict(bind.execute(first_letter).all())
    if not sent:
        return
    for request_id, denial in bind.execute(sa.select(requests.c.id, requests.c.denial).where(requests.c.id.in_(sent))):
        denial = json.loads(denial) if isinstance(denial, str) else dict(denial or {})
        if denial.get("sent_on"):
            continue
        denial["sent_on"] = (
            sent[request_id].isoformat() if hasattr(sent[request_id], "isoformat") else str(sent[request_id])
        )
        bind.execute(sa.update(requests).where(requests.c.id == request_id).values(denial=denial))


def downgrade() -> None:
    pass  # the date stays: it is true, and older code ignores it
