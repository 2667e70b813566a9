//! `GET /console` and `GET /console/{asset}`: the admin console, a single page of plain ES
//! modules and CSS embedded in the binary (no bundler, no CDN: it works offline). It signs in
//! with an admin credential kept in the tab's memory and calls only the public API. Every
//! answer carries a strict Content-Security-Policy (no inline script or style, no other host,
//! no framing), `nosniff` and `no-referrer`.

use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::extract::PathText;

/// Only this origin's files and API; nothing inline, no plugins, no framing, no forms.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The embedded files: path under `/console/`, content type, content.
macro_rules! assets {
    ($($path:literal => $kind:expr),* $(,)?) => {
        /// Every file of the console, as served.
        pub const ASSETS: &[(&str, &str, &str)] = &[
            $(($path, $kind, include_str!(concat!("../../console/", $path))),)*
        ];
    };
}

const JS: &str = "text/javascript; charset=utf-8";

assets!(
    "index.html" => "text/html; charset=utf-8",
    "console.css" => "text/css; charset=utf-8",
    "app.js" => JS,
    "api.js" => JS,
    "ui.js" => JS,
    "chart.js" => JS,
    "screens/overview.js" => JS,
    "screens/resources.js" => JS,
    "screens/credentials.js" => JS,
    "screens/webhooks.js" => JS,
    "screens/projects.js" => JS,
    "screens/events.js" => JS,
);

/// `GET /console`: the page.
pub async fn index() -> Response {
    serve("index.html").unwrap_or_else(|e| e.into_response())
}

/// `GET /console/{asset}`: a script, the style sheet (or the page again).
pub async fn asset(path: Result<PathText<String>, ApiError>) -> Response {
    path.and_then(|PathText(path)| serve(&path)).unwrap_or_else(|e| e.into_response())
}

fn serve(path: &str) -> Result<Response, ApiError> {
    let (_, kind, body) = ASSETS
        .iter()
        .find(|(p, ..)| *p == path)
        .ok_or_else(|| ApiError::not_found().message("No such console file"))?;
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Embedded in this build: a new binary may change them, so the browser asks each time.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_load_stays_under_200_kb_and_no_file_loads_from_elsewhere() {
        let total: usize = ASSETS.iter().map(|(_, _, body)| body.len()).sum();
        // Uncompressed, so compressed it is far below.
        assert!(total < 200 * 1024, "the console's files weigh {total} bytes");
        for (path, _, body) in ASSETS {
            // The SVG namespace is a name, not a request.
            let body = body.replace("http://www.w3.org/2000/svg", "");
            assert!(!body.contains("http://") && !body.contains("https://"), "{path} names another host");
            if path.ends_with(".html") {
                assert!(!body.contains("<script>") && !body.contains(" style="), "{path} has inline script or style");
            }
        }
    }
}
