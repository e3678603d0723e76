// Choosing a credit-standard item pre-fills the category, level, credit type and points.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches("select[data-prefill]")) return;
  var option = select.options[select.selectedIndex];
  if (!option || !option.dataset.category) return;
  var form = select.form;
  var set = function (name, value) {
    var field = form.elements[name];
    if (field && value !== undefined && value !== "") field.value = value;
  };
  set("category", option.dataset.category);
  set("subcategory", option.dataset.subcategory);
  set("level", option.dataset.level);
  set("credit_type", option.dataset.creditType);
  set("claimed_value", option.dataset.points);
  if (form.elements.claimed_value) form.elements.claimed_value.dataset.auto = "1";
  if (form.elements.awards && !form.elements.awards.value) set("awards", option.dataset.award);
  if (form.elements.content && !form.elements.content.value) set("content", option.dataset.name);
  filterSubcategories(form);
  if (form.elements.subcategory) set("subcategory", option.dataset.subcategory);
});

// Offer only the 二级分类 of the chosen 一级分类.
function filterSubcategories(form) {
  var category = form.elements.category, sub = form.elements.subcategory;
  if (!category || !sub) return;
  Array.prototype.forEach.call(sub.options, function (o) {
    var hide = o.dataset.category && category.value && o.dataset.category !== category.value;
    o.hidden = !!hide;
    o.disabled = !!hide;
  });
  var current = sub.options[sub.selectedIndex];
  if (current && current.disabled) sub.value = "";
}
document.addEventListener("change", function (event) {
  if (event.target.name === "category" && event.target.form) filterSubcategories(event.target.form);
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form").forEach(filterSubcategories);
});

// Forms marked data-autosave keep what was typed in this browser until they are submitted, so a
// dropped connection or a closed tab on a phone loses nothing. Files are never kept.
(function () {
  var PREFIX = "bulu-autosave:";
  function key(form) { return PREFIX + location.pathname + "#" + (form.id || ""); }
  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.type !== "file" && el.type !== "hidden" && el.type !== "submit";
    });
  }
  function save(form) {
    var data = {};
    fields(form).forEach(function (el) {
      data[el.name] = el.type === "checkbox" ? el.checked : el.value;
    });
    try { localStorage.setItem(key(form), JSON.stringify(data)); } catch (e) { /* full or off */ }
  }
  function restore(form) {
    var raw;
    try { raw = localStorage.getItem(key(form)); } catch (e) { return; }
    if (!raw) return;
    var data = JSON.parse(raw), restored = false;
    fields(form).forEach(function (el) {
      if (!(el.name in data)) return;
      if (el.type === "checkbox") return;
      if (el.value === "" && data[el.name] !== "") { el.value = data[el.name]; restored = true; }
    });
    if (restored) {
      var note = document.createElement("p");
      note.className = "msg msg-warning";
      note.textContent = form.dataset.autosaveNote || "已恢复你上次未保存的内容。";
      form.insertBefore(note, form.firstChild);
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-autosave]").forEach(function (form) {
      restore(form);
      if (typeof filterSubcategories === "function") filterSubcategories(form);
      form.addEventListener("input", function () { save(form); });
      form.addEventListener("change", function () { save(form); });
      form.addEventListener("submit", function () {
        try { localStorage.removeItem(key(form)); } catch (e) { /* ignore */ }
      });
    });
  });
})();

// Confirmations and "select all" without inline script (the Content-Security-Policy forbids it):
// a form or a submit button with data-confirm asks first; a checkbox with data-select-all="name"
// ticks every checkbox of that name.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var button = event.submitter;
  var text = (button && button.dataset && button.dataset.confirm) || (form.dataset && form.dataset.confirm);
  if (text && !window.confirm(text)) event.preventDefault();
});
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.dataset || !box.dataset.selectAll) return;
  document.querySelectorAll('input[type=checkbox][name="' + box.dataset.selectAll + '"]').forEach(function (c) {
    c.checked = box.checked;
  });
});

// Collective letter: choosing the standard item fills the points per person; the total follows
// points × participants while the applicant has not typed one of their own.
document.addEventListener("change", function (event) {
  var el = event.target, form = el.form;
  if (!form || !form.elements.declared_total) return;
  if (el.matches && el.matches("select[data-prefill-collective]")) {
    var option = el.options[el.selectedIndex];
    if (option && option.dataset.points) form.elements.points_per_person.value = option.dataset.points;
  }
  if (["standard_item", "points_per_person", "declared_participants"].indexOf(el.name) < 0) return;
  var p = parseFloat(form.elements.points_per_person.value), n = parseInt(form.elements.declared_participants.value, 10);
  var total = form.elements.declared_total;
  if (!isNaN(p) && !isNaN(n) && (total.value === "" || total.dataset.auto === "1")) {
    total.value = (Math.round(p * n * 100) / 100).toFixed(2);
    total.dataset.auto = "1";
  }
});
document.addEventListener("input", function (event) {
  if (event.target.name === "declared_total") event.target.dataset.auto = "";
});

// Cadre self-report: offer only the positions of the chosen unit's kind.
function filterPositions(form) {
  var unit = form.querySelector("select[data-cadre-unit]"), pos = form.querySelector("select[data-cadre-position]");
  if (!unit || !pos) return;
  var chosen = unit.options[unit.selectedIndex], kind = chosen && chosen.dataset.kind;
  Array.prototype.forEach.call(pos.options, function (o) {
    var hide = kind && o.dataset.unitKind && o.dataset.unitKind !== kind;
    o.hidden = !!hide;
    o.disabled = !!hide;
  });
  var current = pos.options[pos.selectedIndex];
  if (current && current.disabled) pos.value = "";
}
document.addEventListener("change", function (event) {
  if (event.target.matches && event.target.matches("select[data-cadre-unit]")) filterPositions(event.target.form);
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form").forEach(filterPositions);
});

// Filter folds (我的待办, 申请总览) open on wide screens; on a phone they stay folded unless a
// filter is set, so the list is the first thing seen.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.matchMedia("(min-width: 641px)").matches) return;
  document.querySelectorAll("details[data-open-wide]").forEach(function (d) { d.open = true; });
});

// Personal item: a standard item counted per unit (每小时, 每天 …) asks for the quantity and shows
// the value it gives (6 × 1.00 = 6.00 志愿者工时); the claim follows it until the student types
// one. An item without a level in the standard says that any level will do.
function unitState(form, recompute) {
  var select = form.querySelector("select[data-prefill]"), qty = form.elements.quantity;
  if (!select || !qty) return;
  var option = select.options[select.selectedIndex] || {dataset: {}};
  var d = option.dataset, perUnit = !!d.unit && d.unit !== "item";
  var box = qty.closest(".field");
  if (box) box.hidden = !perUnit && qty.value === "";
  qty.step = d.fraction ? "0.01" : "1";
  var out = form.querySelector("output[data-quantity-result]");
  if (!out && box) {
    out = document.createElement("output");
    out.setAttribute("data-quantity-result", "");
    out.setAttribute("for", qty.id);
    out.className = "quantity-result";
    box.insertBefore(out, qty.nextSibling);
  }
  var claim = form.elements.claimed_value, q = parseFloat(qty.value), p = parseFloat(d.points);
  if (out) {
    out.textContent = "";
    if (perUnit && !isNaN(p)) {
      var noun = d.unitNoun || "";
      if (!isNaN(q) && q > 0) {
        var total = (Math.round(q * p * 100) / 100).toFixed(2);
        out.textContent = " " + qty.value + " " + noun + " × " + p.toFixed(2) + " = " + total + " " + (d.creditTypeName || "");
        if (recompute && claim && (claim.value === "" || claim.dataset.auto === "1")) {
          claim.value = total;
          claim.dataset.auto = "1";
        }
      } else {
        out.textContent = " 请填写" + noun + "数：每" + noun + " " + p.toFixed(2) + " " + (d.creditTypeName || "");
      }
    }
  }
  var level = form.elements.level, note = form.querySelector("[data-level-note]");
  if (level) {
    if (!note) {
      note = document.createElement("small");
      note.setAttribute("data-level-note", "");
      note.className = "muted";
      level.parentNode.insertBefore(note, level.nextSibling);
    }
    note.textContent = d.category && !d.level ? "所选认定标准不限等级：请选择活动的实际等级。" : "";
  }
}
document.addEventListener("change", function (event) {
  var el = event.target;
  if (!el.form) return;
  if (el.matches && el.matches("select[data-prefill]")) {
    if (el.form.elements.quantity) {
      var o = el.options[el.selectedIndex];
      if (!o || !o.dataset.unit || o.dataset.unit === "item") el.form.elements.quantity.value = "";
    }
    unitState(el.form, true);
  }
});
document.addEventListener("input", function (event) {
  var el = event.target;
  if (!el.form) return;
  if (el.name === "quantity") unitState(el.form, true);
  if (el.name === "claimed_value" && el.form.elements.quantity) el.dataset.auto = "";
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form").forEach(function (f) {
    var select = f.querySelector("select[data-prefill]"), qty = f.elements.quantity, claim = f.elements.claimed_value;
    if (select && qty && claim && select.selectedIndex >= 0) {
      // A stored claim that is exactly quantity × points keeps following the quantity.
      var p = parseFloat(select.options[select.selectedIndex].dataset.points), q = parseFloat(qty.value);
      if (!isNaN(p) && !isNaN(q) && Math.abs(p * q - parseFloat(claim.value)) < 0.005) claim.dataset.auto = "1";
    }
    unitState(f, false);
  });
});
