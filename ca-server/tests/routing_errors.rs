//! The CA's router answers unknown paths and methods with grpc-gateway's JSON
//! routing errors (docs/fulcio-wire.md §1), never an empty body.

#![allow(clippy::unwrap_used)]

mod common;

use common::{ChainShape, Stack};
use serde_json::{json, Value};

async fn call(stack: &Stack, method: reqwest::Method, path: &str) -> (u16, Value) {
    let resp = stack
        .http
        .request(method, format!("{}{path}", stack.ca_url))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{path}: body {body:?} is not JSON: {e}"));
    (status, body)
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let stack = Stack::start(ChainShape::RootOnly).await;
    for path in ["/", "/api/v2/nope", "/api/v1/signingCert/extra"] {
        assert_eq!(
            call(&stack, reqwest::Method::GET, path).await,
            (404, json!({"code":5,"message":"Not Found","details":[]})),
            "{path}"
        );
    }
    for (method, path) in [
        (reqwest::Method::GET, "/api/v2/signingCert"),
        (reqwest::Method::DELETE, "/api/v2/trustBundle"),
        (reqwest::Method::PUT, "/api/v2/configuration"),
    ] {
        assert_eq!(
            call(&stack, method.clone(), path).await,
            (
                405,
                json!({"code":12,"message":"Method Not Allowed","details":[]})
            ),
            "{method} {path}"
        );
    }
    // known routes are unaffected
    assert_eq!(
        call(&stack, reqwest::Method::GET, "/api/v2/trustBundle")
            .await
            .0,
        200
    );
}
