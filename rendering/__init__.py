"""Turning a document request into bytes: no models, no HTTP.

- `rendering.options`: the page `options` object (validation shared by the API, templates, the
  admin editor and the CLI).
- `rendering.pages`: page set-up (paper, margins, header/footer bands) and its CSS.
- `rendering.compose`: template + data + CSS + partials → the HTML a worker renders.
- `rendering.engines`: the engine interface and its implementations (WeasyPrint first).
- `rendering.jobs`: the one render-job path (limits, queueing, waiting, size checks) that
  generations and previews share.
"""
