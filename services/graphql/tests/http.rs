//! Queries and mutations over HTTP/1.1 and h2c: every contract op, its errors, the
//! request-level limits (depth, complexity, body size) and GET.

mod common;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::{data, first_error, h1, h2c, post, TestServer};
use protolab_core::Item;
use serde_json::{json, Value};

const ITEM_QUERY: &str =
    "query($id: Int!) { item(id: $id) { id name category price description createdAt } }";

fn assert_item(got: &Value, want: &Item) {
    let want = serde_json::to_value(want).expect("Item serialises");
    for (gql, json) in [
        ("id", "id"),
        ("name", "name"),
        ("category", "category"),
        ("price", "price"),
        ("description", "description"),
        ("createdAt", "created_at"),
    ] {
        assert_eq!(got[gql], want[json], "field {gql}");
    }
}

#[tokio::test]
async fn contract_queries_over_h1_and_h2c() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    for client in [h1()?, h2c()?] {
        let body = post(&client, &srv.url(), "{ ping }", json!({})).await?;
        assert_eq!(data(&body)?["ping"], "pong");

        let body = post(&client, &srv.url(), ITEM_QUERY, json!({ "id": 42 })).await?;
        assert_item(&data(&body)?["item"], &Item::generate(42, 42));

        let q = "query($c: String) { items(offset: 5, limit: 7, category: $c) { id category } }";
        let body = post(&client, &srv.url(), q, json!({ "c": null })).await?;
        let ids: Vec<i64> = data(&body)?["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|i| i["id"].as_i64()).collect())
            .unwrap_or_default();
        assert_eq!(ids, (6..=12).collect::<Vec<_>>());

        let body = post(&client, &srv.url(), q, json!({ "c": "books" })).await?;
        let items = data(&body)?["items"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(items.len(), 7);
        assert!(items.iter().all(|i| i["category"] == "books"));
    }
    // h2c really is HTTP/2.
    let resp = h2c()?
        .post(srv.url())
        .json(&json!({"query": "{ ping }"}))
        .send()
        .await?;
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert!(srv.state.metrics.requests("ping", 200) >= 3);
    assert!(srv.state.metrics.requests("get_item", 200) >= 2);
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn mutations_echo_and_score() -> anyhow::Result<()> {
    let srv = TestServer::start_with(|a| a.delay_ms = 50).await?;
    let client = h1()?;
    let echo = "mutation($d: String!) { echo(data: $d) }";
    let payload: Vec<u8> = (0..1024u32).map(|i| (i % 251) as u8).collect();
    let encoded = BASE64.encode(&payload);
    let body = post(&client, &srv.url(), echo, json!({ "d": encoded })).await?;
    assert_eq!(data(&body)?["echo"], encoded.as_str());

    // The top of the bandwidth sweep (max_body decoded bytes) fits; one more does not.
    let max = srv.state.max_body;
    let big = BASE64.encode(vec![7u8; max]);
    let body = post(&client, &srv.url(), echo, json!({ "d": big })).await?;
    assert_eq!(data(&body)?["echo"].as_str().map(str::len), Some(big.len()));
    let body = post(
        &client,
        &srv.url(),
        echo,
        json!({ "d": BASE64.encode(vec![7u8; max + 1]) }),
    )
    .await?;
    let (msg, code) = first_error(&body)?;
    assert!(msg.contains("exceeds the limit"), "{msg}");
    assert_eq!(code.as_deref(), Some(protolab_graphql::CODE_TOO_LARGE));

    let body = post(&client, &srv.url(), echo, json!({ "d": "not base64!" })).await?;
    let (msg, code) = first_error(&body)?;
    assert!(msg.contains("invalid base64"), "{msg}");
    assert_eq!(code.as_deref(), Some(protolab_graphql::CODE_BAD_USER_INPUT));
    assert_eq!(srv.state.metrics.requests("echo", 400), 1);

    let start = Instant::now();
    let score = "mutation($j: String!) { score(json: $j) }";
    let body = post(
        &client,
        &srv.url(),
        score,
        json!({ "j": r#"{"v":[1,2,3],"w":{"x":6}}"# }),
    )
    .await?;
    assert_eq!(data(&body)?["score"], 3.0);
    assert!(
        start.elapsed() >= Duration::from_millis(50),
        "DELAY_MS not applied"
    );
    let body = post(&client, &srv.url(), score, json!({ "j": "{oops" })).await?;
    assert_eq!(
        first_error(&body)?.1.as_deref(),
        Some(protolab_graphql::CODE_BAD_USER_INPUT)
    );
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn contract_errors_are_graphql_errors() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let client = h1()?;
    let body = post(&client, &srv.url(), ITEM_QUERY, json!({ "id": 999_999 })).await?;
    let (msg, code) = first_error(&body)?;
    assert_eq!(msg, "item 999999 not found");
    assert_eq!(code.as_deref(), Some(protolab_graphql::CODE_NOT_FOUND));
    assert_eq!(srv.state.metrics.requests("get_item", 404), 1);

    let body = post(
        &client,
        &srv.url(),
        "{ items(limit: 1001) { id } }",
        json!({}),
    )
    .await?;
    let (msg, code) = first_error(&body)?;
    assert!(msg.contains("limit must be between 1 and 1000"), "{msg}");
    assert_eq!(code.as_deref(), Some(protolab_graphql::CODE_BAD_USER_INPUT));

    // A wrong argument type is a validation error, not a crash.
    let body = post(
        &client,
        &srv.url(),
        r#"{ item(id: "x") { id } }"#,
        json!({}),
    )
    .await?;
    assert!(first_error(&body)?.0.contains("Invalid value"));
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn query_limits_reject_deep_and_complex_queries() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let client = h1()?;
    let nested = |depth: usize| {
        format!(
            "{{ __schema {{ types {{ fields {{ type {}{{ name }}{} }} }} }} }}",
            "{ ofType ".repeat(depth),
            "}".repeat(depth)
        )
    };
    // As deep as GraphiQL's introspection query (7 levels of ofType): accepted.
    let body = post(&client, &srv.url(), &nested(7), json!({})).await?;
    assert!(data(&body)?["__schema"]["types"].is_array());

    let body = post(
        &client,
        &srv.url(),
        &nested(protolab_graphql::MAX_DEPTH),
        json!({}),
    )
    .await?;
    assert!(first_error(&body)?.0.contains("nested too deep"), "{body}");
    assert!(body["data"].is_null());

    let wide: String = (0..=protolab_graphql::MAX_COMPLEXITY)
        .map(|i| format!("p{i}: ping "))
        .collect();
    let body = post(&client, &srv.url(), &format!("{{ {wide} }}"), json!({})).await?;
    assert!(first_error(&body)?.0.contains("too complex"), "{body}");
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_client_errors() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let client = h1()?;
    let resp = client
        .post(srv.url())
        .header("content-type", "application/json")
        .body(r#"{"query": "#)
        .send()
        .await?;
    assert_eq!(resp.status(), reqwest::StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await?;
    assert!(first_error(&body)?.0.contains("not a GraphQL request"));

    let resp = client.post(srv.url()).body("[1, 2]").send().await?;
    assert_eq!(resp.status(), reqwest::StatusCode::BAD_REQUEST);

    let limit = protolab_graphql::body_limit(srv.state.max_body);
    let huge = json!({ "query": "x".repeat(limit) }).to_string();
    let resp = client.post(srv.url()).body(huge).send().await?;
    assert_eq!(resp.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);

    // The server is unharmed.
    let body = post(&client, &srv.url(), "{ ping }", json!({})).await?;
    assert_eq!(data(&body)?["ping"], "pong");
    srv.stop().await;
    Ok(())
}

#[tokio::test]
async fn get_runs_queries_but_not_mutations() -> anyhow::Result<()> {
    let srv = TestServer::start().await?;
    let client = h1()?;
    let resp = client
        .get(srv.url())
        .query(&[("query", ITEM_QUERY), ("variables", r#"{"id": 42}"#)])
        .send()
        .await?;
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    let body: Value = resp.json().await?;
    assert_item(&data(&body)?["item"], &Item::generate(42, 42));

    let resp = client
        .get(srv.url())
        .query(&[("query", r#"mutation { broadcast(message: "x") { seq } }"#)])
        .send()
        .await?;
    assert_eq!(resp.status(), reqwest::StatusCode::METHOD_NOT_ALLOWED);

    let resp = client
        .get(srv.url())
        .query(&[("variables", "{nope")])
        .send()
        .await?;
    assert_eq!(resp.status(), reqwest::StatusCode::BAD_REQUEST);
    srv.stop().await;
    Ok(())
}
