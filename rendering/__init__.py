"""Turning a document request into bytes: no models, no HTTP.

- `rendering.options`: the page `options` object (validation shared by the API, templates, the
  admin editor and the CLI).
- `rendering.pages`: page set-up (paper, margins, header/footer bands) and its CSS.
- `rendering.loading`: how a browser loads a page before capturing it (viewport, waits).
- `rendering.images`: image set-up and the finishing every engine shares (trim, formats).
- `rendering.compose`: template + data + CSS + partials → the HTML a worker renders.
- `rendering.engines`: the engine interface and its implementations (WeasyPrint, Chromium).
- `rendering.processes`: helper processes that die with their parent; process trees in /proc.
- `rendering.jobs`: the one render-job path (limits, queueing, waiting, size checks) that
  generations and previews share.
"""
