"""Business helpers, as fileloom documents them: money amounts come back as 2-decimal strings."""

from __future__ import annotations

import math
from typing import Any

from hbs.jsvalues import to_js_string

from . import clock
from .dates import INVALID, When, iso, parse, shift
from .jsnumbers import int_arg, num, to_fixed
from .registry import helper


@helper("calculateTax")
def calculate_tax(amount: Any, tax_rate: Any) -> str:
    return to_fixed(num(amount) * num(tax_rate) / 100, 2)


@helper("calculateDiscount")
def calculate_discount(amount: Any, discount_percent: Any) -> str:
    return to_fixed(num(amount) * num(discount_percent) / 100, 2)


@helper("netAmount")
def net_amount(amount: Any, tax_rate: Any = 0, discount_percent: Any = 0) -> str:
    # Tax applies to the discounted amount: netAmount 100 10 20 = (100 - 20) + 8 = 88.00.
    discounted = num(amount) - num(amount) * num(discount_percent) / 100
    return to_fixed(discounted + discounted * num(tax_rate) / 100, 2)


@helper("invoiceNumber")
def invoice_number(prefix: Any = None, number: Any = None, pad_length: Any = None) -> str:
    label = "INV" if prefix is None else to_js_string(prefix)
    sequence = "1" if number is None else to_js_string(number)
    width = 6 if pad_length is None else int_arg(pad_length, 6)
    # String.prototype.padStart: a longer number is kept whole, never truncated.
    return f"{label}-{clock.now():%Y%m}-{sequence.rjust(width, '0')}"


@helper("dueDate")
def due_date(invoice_date: Any = None, terms: Any = None) -> str:
    when = When(clock.now()) if invoice_date is None or invoice_date == "" else parse(invoice_date)
    if when is None:
        return INVALID
    days = 30 if terms is None else num(terms)
    if math.isnan(days) or abs(days) > 1e7:  # NaN or absurd terms cannot make a date
        return INVALID
    return iso(When(shift(when, days, "days").at, date_only=True))
