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
