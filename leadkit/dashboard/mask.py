"""Masking personal data (e-mail addresses, phone numbers, names) in dashboard tables.

The dashboard masks by default; a sidebar toggle shows the values. Masking keeps enough to
tell rows apart at a glance (first letter, e-mail domain, last two digits) and nothing more.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"email": ["ann.lee@example.com", None], "phone": ["+447700900123",
    ...     "12"], "full_name": ["Ann Lee", ""], "status": ["passed", "failed"]})
    >>> mask_frame(frame).rows()
    [('a***@example.com', '•••••••••••23', 'A*** L***', 'passed'), (None, '••', '', 'failed')]
"""

from __future__ import annotations

import polars as pl

__all__ = ["PERSONAL_COLUMNS", "mask_frame", "personal_columns"]

#: Columns holding personal data, by name (canonical names and their usual variants).
PERSONAL_COLUMNS = frozenset(
    {
        "email",
        "email_address",
        "phone",
        "phone_number",
        "first_name",
        "last_name",
        "full_name",
        "name_of_person",
    }
)


def personal_columns(frame: pl.DataFrame) -> list[str]:
    """The string columns of ``frame`` that hold personal data."""
    return [
        c
        for c in frame.columns
        if c.rsplit(".", 1)[-1] in PERSONAL_COLUMNS and frame.schema[c] == pl.String
    ]


def _mask_email(col: pl.Expr) -> pl.Expr:
    local = col.str.split_exact("@", 1).struct.field("field_0")
    domain = col.str.split_exact("@", 1).struct.field("field_1")
    return (
        pl.when(col.str.contains("@", literal=True))
        .then(local.str.slice(0, 1) + pl.lit("***@") + domain)
        .otherwise(col.str.slice(0, 1) + pl.lit("***"))
    )


def _mask_phone(col: pl.Expr) -> pl.Expr:
    length = col.str.len_chars()
    keep = pl.when(length > 4).then(2).otherwise(0)
    return pl.lit("•").repeat_by(length - keep).list.join("") + col.str.slice(length - keep)


def _mask_words(col: pl.Expr) -> pl.Expr:
    return col.str.replace_all(r"(\w)[\w'-]*", "${1}***")


def mask_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its personal columns masked (other columns untouched)."""
    exprs = []
    for name in personal_columns(frame):
        col = pl.col(name)
        leaf = name.rsplit(".", 1)[-1]
        if "email" in leaf:
            exprs.append(_mask_email(col).alias(name))
        elif "phone" in leaf:
            exprs.append(_mask_phone(col).alias(name))
        else:
            exprs.append(_mask_words(col).alias(name))
    return frame.with_columns(exprs) if exprs else frame
