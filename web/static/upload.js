// Upload feedback for sheet imports: a progress bar while the file travels (village networks are
// slow), then "正在检查…" while the server reads every row. Without JavaScript the form still works.
(function () {
  "use strict";
  document.querySelectorAll("form.upload").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      if (!input || !input.files.length || !window.XMLHttpRequest) { return; }
      event.preventDefault();
      var bar = form.querySelector("progress") || form.appendChild(document.createElement("progress"));
      var status = form.querySelector(".upload-status") || form.appendChild(document.createElement("p"));
      status.className = "upload-status";
      status.setAttribute("role", "status");
      bar.max = 100;
      bar.value = 0;
      form.querySelectorAll("button, input[type=submit]").forEach(function (b) { b.disabled = true; });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          status.textContent = "正在上传 " + bar.value + "%";
        }
      };
      xhr.upload.onload = function () { bar.removeAttribute("value"); status.textContent = "上传完成，正在逐行检查…"; };
      xhr.onload = function () {
        if (xhr.responseURL && xhr.responseURL !== window.location.href) {
          window.history.replaceState(null, "", xhr.responseURL);
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
      };
      xhr.onerror = function () {
        status.textContent = "上传失败：网络中断，请重试";
        form.querySelectorAll("button, input[type=submit]").forEach(function (b) { b.disabled = false; });
      };
      xhr.send(new FormData(form));
    });
  });
})();
