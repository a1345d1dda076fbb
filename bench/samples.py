"""The documents the benchmark renders: a minimal page, a 1-page invoice and a 45-page table report.

The invoice is written the way customers send it: a Handlebars template plus `templateData`.
The benchmark's main comparison sends the *compiled* HTML as `htmlContent` (no mustaches), so raw
and end-to-end render exactly the same document; a side measurement sends the template and data
to show what the web-side Handlebars step adds.

Nothing here fetches a resource: the logo is an inline SVG data URI, fonts are system fonts.
"""

from __future__ import annotations

import base64
import random
from typing import Any

_LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="180" height="48" viewBox="0 0 180 48">'
    '<rect x="0" y="4" width="40" height="40" rx="8" fill="#2f5d8a"/>'
    '<path d="M10 34 L20 14 L30 34 Z" fill="#ffffff"/>'
    '<text x="50" y="32" font-family="DejaVu Sans" font-size="19" font-weight="bold" fill="#2f5d8a">Northwind</text>'
    "</svg>"
)
LOGO_DATA_URI = "data:image/svg+xml;base64," + base64.b64encode(_LOGO_SVG.encode()).decode()

INVOICE_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Invoice {{invoice.number}}</title>
<style>
  body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; color: #222; margin: 0; }
  header { display: flex; justify-content: space-between; align-items: flex-start;
           border-bottom: 3px solid #2f5d8a; padding-bottom: 12px; }
  header img { width: 180px; height: 48px; }
  .meta { text-align: right; }
  .meta h1 { font-size: 22pt; margin: 0 0 4px; color: #2f5d8a; letter-spacing: 1px; }
  .meta table { margin-left: auto; border-collapse: collapse; }
  .meta td { padding: 1px 0 1px 12px; }
  .parties { display: flex; justify-content: space-between; margin: 14px 0; }
  .party { width: 46%; }
  .party h2 { font-size: 9pt; text-transform: uppercase; color: #777; margin: 0 0 4px; }
  .party p { margin: 0; line-height: 1.4; }
  table.items { width: 100%; border-collapse: collapse; margin-top: 8px; }
  table.items th { background: #2f5d8a; color: #fff; text-align: left; padding: 6px 8px; font-size: 9pt; }
  table.items td { padding: 4px 8px; border-bottom: 1px solid #e3e8ee; vertical-align: top; }
  table.items tr:nth-child(even) td { background: #f5f8fb; }
  table.items .num { text-align: right; white-space: nowrap; }
  table.items .desc small { color: #777; display: block; }
  .totals { width: 45%; margin: 14px 0 0 auto; border-collapse: collapse; }
  .totals td { padding: 4px 8px; }
  .totals td:last-child { text-align: right; }
  .totals tr.grand td { font-weight: bold; font-size: 12pt; border-top: 2px solid #2f5d8a; color: #2f5d8a; }
  .notes { margin-top: 16px; font-size: 9pt; color: #555; border-left: 3px solid #c9d6e3; padding-left: 10px; }
  .pay { margin-top: 14px; font-size: 9pt; }
  .pay b { color: #2f5d8a; }
  footer { margin-top: 16px; font-size: 8pt; color: #999; text-align: center; }
</style>
</head>
<body>
<header>
  <img src="{{company.logo}}" alt="{{company.name}}">
  <div class="meta">
    <h1>INVOICE</h1>
    <table>
      <tr><td>Invoice no.</td><td><b>{{invoice.number}}</b></td></tr>
      <tr><td>Issued</td><td>{{formatDate invoice.issued "MMMM D, YYYY"}}</td></tr>
      <tr><td>Due</td><td>{{formatDate invoice.due "MMMM D, YYYY"}}</td></tr>
      <tr><td>Order ref.</td><td>{{invoice.orderRef}}</td></tr>
    </table>
  </div>
</header>
<section class="parties">
  <div class="party">
    <h2>From</h2>
    <p><b>{{company.name}}</b><br>{{#each company.address}}{{this}}<br>{{/each}}VAT {{company.vat}}<br>{{company.email}}</p>
  </div>
  <div class="party">
    <h2>Bill to</h2>
    <p><b>{{customer.name}}</b><br>Attn. {{customer.contact}}<br>{{#each customer.address}}{{this}}<br>{{/each}}VAT {{customer.vat}}</p>
  </div>
</section>
<table class="items">
  <thead><tr><th>#</th><th>Description</th><th class="num">Qty</th><th class="num">Unit price</th><th class="num">Amount</th></tr></thead>
  <tbody>
  {{#each items}}
    <tr>
      <td>{{inc @index}}</td>
      <td class="desc">{{name}}{{#if note}}<small>{{note}}</small>{{/if}}</td>
      <td class="num">{{qty}}</td>
      <td class="num">{{currency price "EUR" "de-DE"}}</td>
      <td class="num">{{currency amount "EUR" "de-DE"}}</td>
    </tr>
  {{/each}}
  </tbody>
</table>
<table class="totals">
  <tr><td>Subtotal</td><td>{{currency totals.subtotal "EUR" "de-DE"}}</td></tr>
  <tr><td>Discount ({{totals.discountPercent}}%)</td><td>&minus;{{currency totals.discount "EUR" "de-DE"}}</td></tr>
  <tr><td>VAT {{totals.vatPercent}}%</td><td>{{currency totals.vat "EUR" "de-DE"}}</td></tr>
  <tr class="grand"><td>Total due</td><td>{{currency totals.total "EUR" "de-DE"}}</td></tr>
</table>
<div class="notes">{{notes}}</div>
<div class="pay">Please pay by bank transfer to <b>{{payment.iban}}</b> (BIC {{payment.bic}}),
quoting <b>{{invoice.number}}</b>. Payment terms: {{payment.terms}}.</div>
<footer>{{company.name}} &middot; {{#each company.address}}{{this}} &middot; {{/each}}Registered in Hamburg HRB 123456</footer>
</body>
</html>
"""

_PRODUCTS = [
    ("Cloud hosting — Business plan", "Monthly subscription, 4 vCPU / 16 GB", 1, 249.00),
    ("Additional storage", "500 GB block storage", 3, 19.90),
    ("Managed PostgreSQL", "High-availability pair, daily backups", 1, 189.00),
    ("Support hours", "Migration assistance, billed per hour", 6, 95.00),
    ("SSL certificates", "Wildcard, 1 year", 2, 79.00),
    ("Object storage egress", "1.2 TB above the included quota", 1, 54.72),
    ("Load balancer", None, 1, 29.00),
    ("Domain renewal", "northwind-traders.example, 1 year", 1, 14.50),
    ("Monitoring add-on", "Alerting, 30-day retention", 1, 39.00),
    ("Backup retention extension", "90 days", 1, 24.00),
    ("Training session", "Remote, half day", 1, 450.00),
    ("Consulting", "Architecture review", 4, 140.00),
]


def invoice_data() -> dict[str, Any]:
    items = [
        {"name": name, "note": note, "qty": qty, "price": price, "amount": round(qty * price, 2)}
        for name, note, qty, price in _PRODUCTS
    ]
    subtotal = round(sum(qty * price for _, _, qty, price in _PRODUCTS), 2)
    discount = round(subtotal * 0.05, 2)
    vat = round((subtotal - discount) * 0.19, 2)
    return {
        "company": {
            "name": "Northwind Traders GmbH",
            "logo": LOGO_DATA_URI,
            "address": ["Speicherstadt 12", "20457 Hamburg", "Germany"],
            "vat": "DE123456789",
            "email": "billing@northwind.example",
        },
        "customer": {
            "name": "Contoso Ltd.",
            "contact": "Jane Doe",
            "address": ["1 Market Street", "London EC1A 1BB", "United Kingdom"],
            "vat": "GB987654321",
        },
        "invoice": {"number": "INV-2026-00421", "issued": "2026-03-01", "due": "2026-03-31", "orderRef": "PO-88231"},
        "items": items,
        "totals": {
            "subtotal": subtotal,
            "discountPercent": 5,
            "discount": discount,
            "vatPercent": 19,
            "vat": vat,
            "total": round(subtotal - discount + vat, 2),
        },
        "notes": "Thank you for your business. Services are provided under the master agreement "
        "of 12 January 2025. Questions about this invoice: billing@northwind.example.",
        "payment": {"iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX", "terms": "30 days net"},
    }


# The page options the benchmark sends with the invoice (what the API turns into a PageSetup).
INVOICE_OPTIONS: dict[str, Any] = {
    "format": "A4",
    "margin": {"top": 15.0, "right": 15.0, "bottom": 15.0, "left": 15.0},
    "printBackground": True,
}

# Chromium's placeholder classes, not mustaches, so the footer needs no Handlebars step.
REPORT_OPTIONS: dict[str, Any] = {
    "format": "A4",
    "margin": {"top": 12.0, "right": 12.0, "bottom": 10.0, "left": 12.0},
    "printBackground": True,
    "footer": {
        "enabled": True,
        "height": 8.0,
        "content": '<div style="text-align:center;width:100%">Quarterly sales report &middot; page '
        '<span class="pageNumber"></span> of <span class="totalPages"></span></div>',
    },
}

REPORT_ROWS = 1735  # calibrated to 45 A4 pages with REPORT_OPTIONS (the bench reports the count)
_REGIONS = ["North", "South", "East", "West", "Central"]
_PRODUCT_NAMES = ["Widget", "Gadget", "Sprocket", "Flange", "Gizmo", "Doohickey", "Bracket", "Coupling"]


def report_html(rows: int = REPORT_ROWS) -> str:
    """A long, plain table report (repeated header row, zebra stripes, numbers right-aligned)."""
    rng = random.Random(42)
    body = []
    total = 0.0
    for index in range(1, rows + 1):
        units = rng.randint(1, 500)
        price = rng.randint(100, 99_999) / 100
        amount = units * price
        total += amount
        body.append(
            f"<tr><td>{index}</td><td>2026-{rng.randint(1, 3):02d}-{rng.randint(1, 28):02d}</td>"
            f"<td>ORD-{rng.randint(100000, 999999)}</td><td>{rng.choice(_REGIONS)}</td>"
            f"<td>{rng.choice(_PRODUCT_NAMES)} {rng.choice('ABCDEFG')}{rng.randint(10, 99)}</td>"
            f'<td class="n">{units}</td><td class="n">{price:,.2f}</td><td class="n">{amount:,.2f}</td></tr>'
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Quarterly sales report</title><style>"
        "body{font-family:'DejaVu Sans',sans-serif;font-size:10pt;color:#222}"
        "h1{font-size:16pt;color:#2f5d8a;margin:0 0 4px}"
        "p.sub{color:#777;margin:0 0 10px}"
        "table{width:100%;border-collapse:collapse}"
        "thead th{background:#2f5d8a;color:#fff;text-align:left;padding:4px 6px}"
        "td{padding:4px 6px;border-bottom:1px solid #e3e8ee}"
        "tbody tr:nth-child(even) td{background:#f5f8fb}"
        "td.n,th.n{text-align:right;white-space:nowrap}"
        "tfoot td{font-weight:bold;border-top:2px solid #2f5d8a}"
        "</style></head><body>"
        "<h1>Quarterly sales report</h1><p class='sub'>Q1 2026 &middot; all regions &middot; "
        f"{rows} orders</p>"
        "<table><thead><tr><th>#</th><th>Date</th><th>Order</th><th>Region</th><th>Product</th>"
        "<th class='n'>Units</th><th class='n'>Unit price</th><th class='n'>Amount</th></tr></thead><tbody>"
        + "".join(body)
        + f"</tbody><tfoot><tr><td colspan='7'>Total</td><td class='n'>{total:,.2f}</td></tr></tfoot>"
        "</table></body></html>"
    )


# The smallest useful document (issue 13, item 5): what the API costs around a render that
# takes almost nothing, and the small document of the Chromium memory check.
HELLO_HTML = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Hello</title></head><body>"
    "<h1>Hello</h1><p>A minimal one-page document: one heading, one paragraph.</p></body></html>"
)
HELLO_OPTIONS: dict[str, Any] = {"format": "A4"}


def on_engine(options: dict[str, Any], engine: str) -> dict[str, Any]:
    """The request options of a document, sent to `engine` (`options.engine`)."""
    return {**options, "engine": engine}
