// Parley agent console: files in the reply box. "Attach files" (the paperclip), a paste of an image or a
// file dropped on the reply box uploads each file at once (POST /console/attachments, the session's CSRF
// token in a header): a chip shows its name, size and progress, and a button cancels the upload or takes
// the file back. Each uploaded file's id joins the form as a hidden attachment=att_… field, which the
// reply or note posts with its text; the text may then be empty. A refusal (too large, a kind the
// workspace does not accept) is said in the reply box's alert, in the server's words.
//
// Without this script the paperclip stays hidden and the form sends text as before. Every name shown
// here is set as text, never as HTML.
(function () {
  "use strict";

  var csrfMeta = document.querySelector('meta[name="parley-csrf"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  function boxOf(el) {
    var form = el && el.closest ? el.closest("form") : null;
    return form ? form.querySelector("[data-attach]") : null;
  }

  function chipList(box) { return box.querySelector("[data-attach-chips]"); }
  function chips(box) { return chipList(box).querySelectorAll("li"); }

  function sentence(s) {
    s = String(s || "").trim();
    if (!s) return s;
    s = s.charAt(0).toUpperCase() + s.slice(1);
    return /[.!?]$/.test(s) ? s : s + ".";
  }

  // say puts a refusal in the reply box's alert; an empty text clears it.
  function say(box, text) {
    var el = box.querySelector("[data-attach-alert]");
    if (!el) return;
    el.textContent = "";
    if (text) el.textContent = text;
  }

  // announce tells a screen reader what happened without interrupting (the page's polite status).
  function announce(text) {
    var el = document.querySelector("[data-live-status]");
    if (el) el.textContent = text;
  }

  // formatSize writes bytes as the server does: decimal units, one decimal place at most.
  function formatSize(n) {
    function one(x) { return (Math.round(x * 10) / 10).toString(); }
    if (n < 1000) return n + " bytes";
    if (n < 1e6) return one(n / 1e3) + " KB";
    if (n < 1e9) return one(n / 1e6) + " MB";
    return one(n / 1e9) + " GB";
  }

  // sync keeps the form honest: its text is optional once it carries a file, and it says whether an
  // upload is still running.
  function sync(box) {
    var form = box.closest("form");
    var area = form && form.querySelector('textarea[name="body"]');
    var carried = box.querySelectorAll('input[name="attachment"]').length;
    if (area) area.required = carried === 0;
    if (form) form.toggleAttribute("data-uploading", !!box.querySelector('li[data-state="uploading"]'));
  }

  function prepare(root) {
    root.querySelectorAll("[data-attach]").forEach(function (box) {
      if (box.dataset.ready) return;
      box.dataset.ready = "1";
      box.querySelectorAll("[data-attach-button], [data-attach-hint]").forEach(function (el) { el.hidden = false; });
      sync(box);
    });
  }

  // add uploads the files the agent chose, within the limits the page states; the server checks again
  // (and alone decides the kind, from the content).
  function add(box, fileList) {
    var list = Array.prototype.slice.call(fileList || []);
    if (!list.length) return;
    say(box, "");
    var maxFiles = parseInt(box.getAttribute("data-max-files"), 10) || 5;
    var maxBytes = parseInt(box.getAttribute("data-max-bytes"), 10) || 0;
    var refused = [];
    list.forEach(function (file) {
      if (chips(box).length >= maxFiles) {
        refused.push((file.name || "A file") + " was not added: up to " + maxFiles + " files per message.");
        return;
      }
      if (maxBytes && file.size > maxBytes) {
        refused.push((file.name || "A file") + " is larger than " + box.getAttribute("data-max-size") + ", the limit for a file.");
        return;
      }
      upload(box, file);
    });
    if (refused.length) say(box, refused.join(" "));
    sync(box);
  }

  function upload(box, file) {
    var name = file.name || "file";
    var li = document.createElement("li");
    li.className = "attach-chip";
    li.setAttribute("data-state", "uploading");
    var label = document.createElement("span");
    label.className = "chip-name";
    label.textContent = name;
    var size = document.createElement("span");
    size.className = "chip-size";
    size.textContent = formatSize(file.size);
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Uploading " + name);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link chip-remove";
    button.setAttribute("data-attach-remove", "");
    button.textContent = "Cancel";
    button.setAttribute("aria-label", "Cancel upload of " + name);
    li.append(label, " ", size, " ", bar, " ", button);
    chipList(box).appendChild(li);

    var xhr = new XMLHttpRequest();
    li.parleyXHR = xhr;
    xhr.open("POST", "/console/attachments");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (ev) {
      if (ev.lengthComputable && ev.total > 0) bar.value = Math.min(99, Math.round(100 * ev.loaded / ev.total));
    });
    xhr.addEventListener("load", function () {
      if (!li.isConnected) return;
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: a proxy's page */ }
      if (xhr.status === 201 && data && data.attachment && data.attachment.id) {
        uploaded(box, li, data.attachment);
        return;
      }
      var msg = data && data.error && data.error.message ? data.error.message : "the upload failed (HTTP " + xhr.status + "); try again";
      if (xhr.status === 401) msg = "you are signed out; sign in again in another tab, then attach the file again";
      li.remove();
      say(box, name + ": " + sentence(msg));
      sync(box);
    });
    xhr.addEventListener("error", function () {
      if (!li.isConnected) return;
      li.remove();
      say(box, name + ": the upload failed. Check the connection and try again.");
      sync(box);
    });
    var fd = new FormData();
    fd.append("file", file, name);
    xhr.send(fd);
  }

  // uploaded turns a chip into a file the form carries.
  function uploaded(box, li, att) {
    li.parleyXHR = null;
    li.setAttribute("data-state", "done");
    li.setAttribute("data-attachment", att.id);
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "attachment";
    input.value = att.id;
    li.insertBefore(input, li.firstChild);
    var bar = li.querySelector("progress");
    if (bar) bar.remove();
    var name = li.querySelector(".chip-name");
    if (name) name.textContent = att.name; // the name as the server keeps it
    var size = li.querySelector(".chip-size");
    if (size) size.textContent = formatSize(att.size);
    var button = li.querySelector("[data-attach-remove]");
    button.textContent = "Remove";
    button.setAttribute("aria-label", "Remove " + att.name);
    sync(box);
    announce(att.name + " attached");
  }

  // remove cancels a chip's upload or takes its file back (an unused upload is deleted after a day),
  // and keeps the keyboard's place: the next chip, else the paperclip.
  function remove(li) {
    var box = boxOf(li);
    if (!box) return;
    if (li.parleyXHR) { li.parleyXHR.abort(); li.parleyXHR = null; }
    var name = li.querySelector(".chip-name");
    var next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    sync(box);
    var target = next ? next.querySelector("[data-attach-remove]") : box.querySelector("[data-attach-button]");
    if (target) target.focus();
    announce((name ? name.textContent : "The file") + " removed");
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!t || !t.closest) return;
    var pick = t.closest("[data-attach-button]");
    if (pick) {
      var input = boxOf(pick) && boxOf(pick).querySelector("[data-attach-input]");
      if (input) input.click();
      return;
    }
    var rm = t.closest("[data-attach-remove]");
    if (rm) remove(rm.closest("li"));
  });

  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input || !input.matches || !input.matches("[data-attach-input]")) return;
    add(boxOf(input), input.files);
    input.value = ""; // the same file may be chosen again
  });

  // A screenshot pasted into the reply box is attached; pasted text stays text.
  document.addEventListener("paste", function (ev) {
    var box = boxOf(ev.target);
    var files = ev.clipboardData && ev.clipboardData.files;
    if (!box || !files || !files.length || !ev.target.matches('textarea[name="body"]')) return;
    ev.preventDefault();
    add(box, files);
  });

  // Files dropped anywhere on the reply box are attached.
  function dropBox(ev) {
    var box = boxOf(ev.target);
    var types = ev.dataTransfer && ev.dataTransfer.types;
    return box && types && Array.prototype.indexOf.call(types, "Files") >= 0 ? box : null;
  }
  document.addEventListener("dragover", function (ev) {
    var box = dropBox(ev);
    if (!box) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "copy";
    box.closest("form").classList.add("attach-drop");
  });
  document.addEventListener("dragleave", function (ev) {
    var form = ev.target && ev.target.closest && ev.target.closest("form.attach-drop");
    if (form && !form.contains(ev.relatedTarget)) form.classList.remove("attach-drop");
  });
  document.addEventListener("drop", function (ev) {
    var box = dropBox(ev);
    if (!box) return;
    ev.preventDefault();
    box.closest("form").classList.remove("attach-drop");
    add(box, ev.dataTransfer.files);
  });

  // A reply is not sent while one of its files is still uploading: it would go without it.
  document.addEventListener("submit", function (ev) {
    var box = ev.target && ev.target.querySelector ? ev.target.querySelector("[data-attach]") : null;
    if (!box || !box.querySelector('li[data-state="uploading"]')) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    say(box, "Wait until the files have uploaded, or cancel them, then send again.");
  }, true);

  prepare(document);
  // The console swaps the reply box in anew when the conversation changes (console.js).
  if (window.MutationObserver) {
    new MutationObserver(function () { prepare(document); }).observe(document.body, { childList: true, subtree: true });
  }
})();
