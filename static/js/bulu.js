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
  if (form.elements.awards && !form.elements.awards.value) set("awards", option.dataset.award);
  if (form.elements.content && !form.elements.content.value) {
    form.elements.content.value = option.textContent.replace(/（.*）$/, "").trim();
  }
});
