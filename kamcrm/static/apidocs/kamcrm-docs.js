// Start Swagger UI on the document named by the page. The page's Content-Security-Policy
// forbids inline script, hence this file and the data attribute.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Never send the document to swagger.io's online validator: no network but our own.
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
