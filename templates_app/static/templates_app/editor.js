/* Template editor: CodeMirror for the sources, a debounced live preview of one page.
 *
 * The preview endpoint takes the whole editor form (so it validates exactly like a save) and
 * `?page=N`, and answers {image: "data:image/png;base64,…", page, pageCount} or
 * {error: {code, message, details}}. Only the newest request's answer is shown, so a slow render
 * never overwrites a newer one. Previous/Next page through the document; Enlarge shows the page
 * over the whole window at its rendered size.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 600;
  var root = document.getElementById("fl-editor");
  if (!root) return;
  var form = root.closest("form");
  var image = document.getElementById("fl-preview-image");
  var statusLine = document.getElementById("fl-preview-status");
  var errorBox = document.getElementById("fl-preview-error");
  var panel = document.getElementById("fl-preview");
  var prevButton = document.getElementById("fl-preview-prev");
  var nextButton = document.getElementById("fl-preview-next");
  var pageLabel = document.getElementById("fl-preview-page");
  var enlargeButton = document.getElementById("fl-preview-enlarge");
  var readOnly = root.dataset.readOnly === "true";
  var handlebarsHtml = { name: "handlebars", base: "text/html" };
  var modes = {
    id_html: handlebarsHtml,
    id_css: "css",
    id_test_data: { name: "javascript", json: true },
    id_header_content: handlebarsHtml,
    id_footer_content: handlebarsHtml
  };
  var editors = [];
  var timer = null;
  var sequence = 0;
  var renders = 0;
  var page = 1;
  var pageCount = null;

  function setStatus(text) {
    statusLine.textContent = text;
  }

  function showError(message, details) {
    var lines = [message].concat((details || []).map(function (d) {
      return typeof d === "string" ? d : (d.message || JSON.stringify(d)) + (d.line ? " (line " + d.line + ", column " + d.column + ")" : "");
    }));
    errorBox.textContent = lines.join("\n");
    errorBox.hidden = false;
    root.classList.add("fl-preview-failed");
    setStatus("Preview failed: the image shows the last good render.");
  }

  function showPage() {
    pageLabel.textContent = "Page " + page + (pageCount ? " of " + pageCount : "");
    prevButton.disabled = page <= 1;
    nextButton.disabled = !pageCount || page >= pageCount;
    image.alt = "Preview of page " + page;
  }

  function goTo(number) {
    page = Math.max(1, number);
    showPage();
    refresh();
  }

  function setEnlarged(on) {
    panel.classList.toggle("fl-preview-enlarged", on);
    enlargeButton.setAttribute("aria-pressed", on ? "true" : "false");
    enlargeButton.textContent = on ? "Close" : "Enlarge";
  }

  function refresh() {
    clearTimeout(timer);
    editors.forEach(function (cm) { cm.save(); });
    var mine = ++sequence;
    var body = new FormData(form);
    setStatus("Rendering…");
    fetch(root.dataset.previewUrl + "?page=" + page, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": body.get("csrfmiddlewaretoken") || "", Accept: "application/json" }
    }).then(function (response) {
      return response.json().then(function (payload) { return { ok: response.ok, payload: payload }; });
    }).then(function (result) {
      if (mine !== sequence) return; // a newer render is on its way
      if (!result.ok) {
        var error = result.payload.error || { message: "Preview failed." };
        // An edit removed the page on show: go to the document's last page instead.
        var shorter = /does not exist: the document has (\d+) page/.exec(error.message || "");
        if (shorter && page > 1) {
          pageCount = Number(shorter[1]);
          goTo(Math.min(page, pageCount));
          return;
        }
        showError(error.message, error.details);
        return;
      }
      image.src = result.payload.image;
      renders += 1;
      image.dataset.renders = String(renders);
      errorBox.hidden = true;
      root.classList.remove("fl-preview-failed");
      var pages = result.payload.pageCount;
      pageCount = pages;
      showPage();
      setStatus("Updated " + new Date().toLocaleTimeString() + " · " + pages + (pages === 1 ? " page" : " pages"));
    }).catch(function (err) {
      if (mine === sequence) showError("Preview failed: " + err);
    });
  }

  function schedule() {
    clearTimeout(timer);
    setStatus("Changes pending…");
    timer = setTimeout(refresh, DEBOUNCE_MS);
  }

  if (typeof CodeMirror !== "undefined") {
    Object.keys(modes).forEach(function (id) {
      var textarea = document.getElementById(id);
      if (!textarea) return;
      var small = id === "id_header_content" || id === "id_footer_content";
      var cm = CodeMirror.fromTextArea(textarea, {
        mode: modes[id],
        lineNumbers: true,
        lineWrapping: true,
        tabSize: 2,
        indentUnit: 2,
        readOnly: readOnly
      });
      cm.getWrapperElement().dataset.field = textarea.name;
      cm.getWrapperElement().classList.add(small ? "fl-cm-small" : "fl-cm");
      cm.on("changes", function () { cm.save(); schedule(); });
      editors.push(cm);
    });
  }

  // Settings fields (and any plain input) refresh the preview too.
  form.addEventListener("input", function (event) {
    if (!event.target.closest(".CodeMirror")) schedule();
  });
  form.addEventListener("change", function (event) {
    if (!event.target.closest(".CodeMirror")) schedule();
  });

  prevButton.addEventListener("click", function () { goTo(page - 1); });
  nextButton.addEventListener("click", function () { goTo(page + 1); });
  enlargeButton.addEventListener("click", function () {
    setEnlarged(!panel.classList.contains("fl-preview-enlarged"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && panel.classList.contains("fl-preview-enlarged")) setEnlarged(false);
  });

  showPage();
  refresh(); // the saved draft, right after load (and so right after every save)
})();
