"""A month's statement (opening balance, usage by model, every other entry, closing balance)
as CSV or PDF, and a paid top-up's invoice as PDF. The closing balance is the opening plus
every line, so a statement adds up whichever format it is read in."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF
from sqlalchemy.ext.asyncio import AsyncSession

from gptapi.console.billing import repository
from gptapi.console.billing.service import parse_month
from gptapi.console.deps import OrgContext
from gptapi.console.usage.money import usd
from gptapi.models import Organization, StripePayment

ISSUER = "GPT API"
FOOTER = "GPT API · gpt.ai · amounts in US dollars"


@dataclass(frozen=True)
class Line:
    section: str
    date: str
    description: str
    quantity: str
    amount_nanos: int


@dataclass(frozen=True)
class Statement:
    organization: str
    month: str
    opening: Line
    lines: list[Line]
    closing: Line


async def statement(db: AsyncSession, ctx: OrgContext, month: str) -> Statement:
    start, end = parse_month(month)
    organization_id = ctx.organization.id
    opening = await repository.ledger_sum_before(db, organization_id, start)
    closing = await repository.ledger_sum_before(db, organization_id, end)
    lines = [
        Line("usage", month, model, f"{requests} requests", int(amount))
        for model, requests, amount in await repository.usage_charged(
            db, organization_id, start, end
        )
    ]
    lines += [
        Line(entry.kind, f"{entry.created_at:%Y-%m-%d}", entry.description, "", entry.amount_nanos)
        for entry in await repository.entries_between(db, organization_id, start, end)
    ]
    return Statement(
        organization=ctx.organization.name,
        month=month,
        opening=Line("opening balance", f"{start:%Y-%m-%d}", "", "", opening),
        lines=lines,
        closing=Line("closing balance", f"{end:%Y-%m-%d}", "", "", closing),
    )


def statement_csv(s: Statement) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["statement", s.organization, s.month, "", ""])
    writer.writerow(["section", "date", "description", "quantity", "amount_usd"])
    for line in [s.opening, *s.lines, s.closing]:
        writer.writerow(
            [line.section, line.date, line.description, line.quantity, usd(line.amount_nanos)]
        )
    return out.getvalue()


class _Document(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.set_title(title)
        self.set_author(ISSUER)
        self.set_creator(ISSUER)
        self.set_auto_page_break(auto=True, margin=18)
        self.add_page()
        self.set_font("helvetica", "B", 16)
        self.cell(0, 10, ISSUER, new_x="LMARGIN", new_y="NEXT")
        self.set_font("helvetica", "B", 13)
        self.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        self.set_font("helvetica", size=10)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("helvetica", size=8)
        self.cell(0, 6, f"{FOOTER} · page {self.page_no()}", align="C")

    def facts(self, rows: list[tuple[str, str]]) -> None:
        for label, value in rows:
            self.set_font("helvetica", "B", 10)
            self.cell(45, 6, label)
            self.set_font("helvetica", size=10)
            self.cell(0, 6, _latin(value), new_x="LMARGIN", new_y="NEXT")
        self.ln(4)

    def grid(self, head: list[str], rows: list[list[str]], widths: list[int]) -> None:
        with self.table(col_widths=widths, text_align="LEFT") as table:
            heading = table.row()
            for text in head:
                heading.cell(text)
            for values in rows:
                row = table.row()
                for text in values:
                    row.cell(_latin(text))

    def bytes(self) -> bytes:
        return bytes(self.output())


def _latin(text: str) -> str:
    """The core PDF fonts cover Latin-1; anything else is shown as '?' rather than failing."""
    return text.encode("latin-1", "replace").decode("latin-1")


def statement_pdf(s: Statement, issued: datetime) -> bytes:
    pdf = _Document(f"Statement for {s.month}")
    pdf.facts([("Organisation", s.organization), ("Issued", f"{issued:%Y-%m-%d}")])
    rows = [
        [line.section, line.date, line.description, line.quantity, usd(line.amount_nanos)]
        for line in [s.opening, *s.lines, s.closing]
    ]
    head = ["Section", "Date", "Description", "Quantity", "Amount (USD)"]
    pdf.grid(head, rows, [28, 22, 70, 32, 38])
    return pdf.bytes()


def invoice_pdf(organization: Organization, payment: StripePayment, issued: datetime) -> bytes:
    """A receipt-style invoice for a paid top-up or auto-refill (prepaid credit)."""
    kind = "Top-up" if payment.kind == "topup" else "Auto-refill"
    pdf = _Document(f"Invoice {invoice_number(payment)}")
    amount = f"${payment.amount_cents / 100:,.2f}"
    facts = [
        ("Billed to", organization.name),
        ("Organisation id", str(organization.id)),
        ("Date", f"{payment.created_at:%Y-%m-%d}"),
        ("Issued", f"{issued:%Y-%m-%d}"),
        ("Status", "Paid"),
    ]
    if payment.refunded_cents:
        facts.append(("Refunded", f"${payment.refunded_cents / 100:,.2f}"))
    pdf.facts(facts)
    pdf.grid(
        ["Description", "Quantity", "Amount (USD)"],
        [[f"{kind}: prepaid API credit", "1", amount], ["Total paid", "", amount]],
        [110, 30, 50],
    )
    return pdf.bytes()


def invoice_number(payment: StripePayment) -> str:
    return f"GPT-{payment.created_at:%Y%m}-{payment.id:06d}"
