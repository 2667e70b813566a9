//! What a user sees without reading the code: the endpoint forms accepted, a connection error
//! that names the URL, and the deprecation warning (once per process and endpoint) against the
//! real server.

mod common;

use tollgate_client::{Client, ErrorKind};

#[tokio::test]
async fn an_endpoint_ending_in_v1_is_the_same_server() {
    let s = common::server().await;
    for endpoint in [format!("{}/v1", s.base_url), format!("{}/v1/", s.base_url)] {
        let c = Client::builder().endpoint(&endpoint).api_key(&s.admin_key).build().unwrap();
        assert_eq!(c.endpoint(), s.base_url);
        c.list(&Default::default()).await.unwrap();
    }
}

#[tokio::test]
async fn a_refused_connection_names_the_url() {
    // Port 9 (discard) is not listened on here; nothing is retried with retries off.
    let c = Client::builder().endpoint("http://127.0.0.1:9").api_key("tgk_x").max_retries(0).build().unwrap();
    let e = c.get("res_1").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connection);
    assert!(e.to_string().contains("http://127.0.0.1:9/v1/resource/res_1"), "{e}");
}
