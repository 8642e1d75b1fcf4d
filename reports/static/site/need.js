// The compound page's need form, sent with fetch so the page stays put. Without scripts the
// form posts itself and the service answers with a receipt page.
(function () {
  var f = document.getElementById("need-form"), out = document.getElementById("need-result");
  if (!f || !window.fetch || !window.JSON || !window.crypto) return;
  var ZH = {};
  try { ZH = JSON.parse(f.getAttribute("data-refusals") || "{}"); } catch (_) {}
  function why(j) { return (j && ZH[j.error]) || "请稍后再试"; }
  function newKey() {
    var a = new Uint8Array(16), s = "";
    window.crypto.getRandomValues(a);
    for (var i = 0; i < a.length; i++) s += (a[i] + 256).toString(16).slice(1);
    return s;
  }
  // One Idempotency-Key per content: a retry after a lost answer gets the same receipt,
  // not a second need; changed content gets a new key.
  var lastBody = null, key = null;
  f.addEventListener("submit", function (e) {
    e.preventDefault();
    var d = {};
    new FormData(f).forEach(function (v, k) { d[k] = v; });
    var body = JSON.stringify(d);
    if (body !== lastBody) { lastBody = body; key = newKey(); }
    out.textContent = "正在提交…";
    fetch(f.action, {method: "POST", body: body, headers: {
      "Content-Type": "application/json", "Accept": "application/json", "Idempotency-Key": key}})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, j: j}; }); })
      .then(function (x) {
        if (x.ok) { out.textContent = "已收到，受理编号：" + x.j.reference; f.reset(); lastBody = null; }
        else { out.textContent = "提交未成功：" + why(x.j); }
      })
      .catch(function () { out.textContent = "网络异常，请稍后再试"; });
  });
})();
