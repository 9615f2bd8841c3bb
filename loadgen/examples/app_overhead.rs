//! reference/001's synthetic application, benchmarked with protolab's engine as a
//! library (`protolab_bench::measure`) and profiled with the call telemetry layer
//! (`protolab_telemetry`):
//!
//! ```text
//! cargo run --release -p loadgen --example app_overhead -- [CALLS] [--out DIR]
//! ```
//!
//! It starts protolab's REST server in this process on a loopback port, then in one
//! run measures
//! 1. the bare protocol call, `GET /items/{id}` with protolab's own REST driver, and
//! 2. the application's operation, `checkout`: validate the order, fetch its three
//!    items, price them with `POST /score` and store the order with `POST /echo`
//!    (five round trips), written as a user would, with reqwest,
//!
//! and prints the application's overhead against the bare call, then the telemetry
//! summary of the application's spans (round trips per checkout, slow calls). With
//! `--out DIR` both cases are saved as a run that `loadgen report DIR/<run-id>` draws.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use protolab_bench::measure::{save, Bench, FnDriver};
use protolab_bench::results::brief;
use protolab_bench::{CallError, CaseResult, OpSpec};
use protolab_drivers::{HttpTarget, HttpVersion, RestDriver, TlsOptions};
use protolab_telemetry::TelemetryLayer;
use serde_json::{json, Value};
use tracing::instrument;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Rows in the example's dataset (and the dataset's seed, the servers' default).
const ITEMS: u32 = 1_000;
const SEED: u64 = 42;
/// Round trips one checkout makes: three fetches, one score, one store.
const ROUND_TRIPS: f64 = 5.0;

/// The application: a client of the REST server with some logic of its own.
#[derive(Clone)]
struct Shop {
    http: reqwest::Client,
    base: String,
}

fn failed(kind: &'static str) -> impl Fn(reqwest::Error) -> CallError {
    move |e| CallError::failed(kind, e)
}

/// Sends `request` and reads its JSON answer; a failure counts under `kind`.
async fn json_of(request: reqwest::RequestBuilder, kind: &'static str) -> Result<Value, CallError> {
    request
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(failed(kind))?
        .json()
        .await
        .map_err(failed(kind))
}

impl Shop {
    /// One application operation: validate, fetch a batch, compute, store.
    #[instrument(name = "checkout", skip(self))]
    async fn checkout(&self, order: u64) -> Result<(), CallError> {
        let ids = validate(order)?;
        let mut prices = Vec::with_capacity(ids.len());
        for id in ids {
            prices.push(self.fetch_price(id).await?);
        }
        let total = self.price(&prices).await?;
        self.store(order, total).await
    }

    #[instrument(skip(self), fields(round_trip = true))]
    async fn fetch_price(&self, id: i64) -> Result<f64, CallError> {
        let url = format!("{}/items/{id}", self.base);
        let item = json_of(self.http.get(url), "fetch").await?;
        if item["id"].as_i64() != Some(id) {
            return Err(CallError::failed(
                "verify",
                format!("asked for {id}, got {item}"),
            ));
        }
        item["price"]
            .as_f64()
            .ok_or_else(|| CallError::failed("verify", "an item without a price"))
    }

    #[instrument(skip_all, fields(round_trip = true))]
    async fn price(&self, prices: &[f64]) -> Result<f64, CallError> {
        let request = self
            .http
            .post(format!("{}/score", self.base))
            .json(&json!({ "vector": prices }));
        let answer = json_of(request, "score").await?;
        answer["score"]
            .as_f64()
            .ok_or_else(|| CallError::failed("verify", format!("no score in {answer}")))
    }

    #[instrument(skip(self), fields(round_trip = true))]
    async fn store(&self, order: u64, total: f64) -> Result<(), CallError> {
        let record = json!({ "order": order, "total": total }).to_string();
        let echoed = self
            .http
            .post(format!("{}/echo", self.base))
            .body(record.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed("store"))?
            .bytes()
            .await
            .map_err(failed("store"))?;
        if echoed != record.as_bytes() {
            return Err(CallError::failed("verify", "the store echoed other bytes"));
        }
        Ok(())
    }
}

/// The order's three item ids, or why the order is refused (local work only).
#[instrument]
fn validate(order: u64) -> Result<Vec<i64>, CallError> {
    let ids: Vec<i64> = (0..3)
        .map(|i| OpSpec::item_id(ITEMS, order * 3 + i))
        .collect();
    if ids.iter().any(|id| !(1..=i64::from(ITEMS)).contains(id)) {
        return Err(CallError::failed("validation", format!("ids {ids:?}")));
    }
    Ok(ids)
}

struct Args {
    calls: u64,
    out: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        calls: 2_000,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => parsed.out = Some(it.next().context("--out needs a directory")?.into()),
            n => parsed.calls = n.parse().with_context(|| format!("CALLS, not {n:?}"))?,
        }
    }
    Ok(parsed)
}

fn mean_ms(case: &CaseResult) -> anyhow::Result<f64> {
    let s = case.headline().context("nothing measured")?;
    anyhow::ensure!(
        case.valid,
        "{}: {}",
        case.spec.name,
        case.problems.join("; ")
    );
    Ok(s.latency.mean_us / 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let (layer, telemetry) = TelemetryLayer::builder()
        .slow_threshold(Duration::from_millis(5))
        .keep_slow(5)
        .build();
    tracing_subscriber::registry().with(layer).init();

    let dir = tempfile::tempdir()?;
    let server = protolab_core::server::start_in_process(
        &protolab_rest::SPEC,
        dir.path(),
        ITEMS,
        |_| {},
        protolab_rest::app,
    )
    .await?;
    let base = format!("http://{}", server.plain);

    // 1. The bare protocol call, with protolab's own driver.
    let op = OpSpec::GetItem { ids: ITEMS };
    let target = HttpTarget::new(&base, HttpVersion::H1, &TlsOptions::default()).await?;
    let bare = Bench::serial(args.calls)
        .op(op.clone())
        .name("bare/get_item")
        .run(RestDriver::new(target, SEED, &op))
        .await;

    // 2. The application's operation, a closure over the app's own client.
    let shop = Shop {
        http: reqwest::Client::new(),
        base,
    };
    let driver = FnDriver::new(
        "shop",
        move || std::future::ready(Ok::<_, CallError>(shop.clone())),
        |shop: Shop, seq| async move { shop.checkout(seq).await },
    );
    telemetry.reset();
    let app = Bench::serial(args.calls / ROUND_TRIPS as u64)
        .name("shop/checkout")
        .run(driver)
        .await;

    println!("{:<16} {}", bare.spec.name, brief(&bare));
    println!("{:<16} {}", app.spec.name, brief(&app));
    let (bare_ms, app_ms) = (mean_ms(&bare)?, mean_ms(&app)?);
    let own_ms = app_ms - ROUND_TRIPS * bare_ms;
    println!(
        "checkout: {app_ms:.3} ms mean = {ROUND_TRIPS} round trips x {bare_ms:.3} ms bare \
         + {own_ms:.3} ms of the application's own ({:.0}% of the operation)",
        own_ms / app_ms * 100.0
    );
    println!("{}", telemetry.report());

    if let Some(out) = args.out {
        let run = save(&out, vec![bare, app])?;
        println!("saved: loadgen report {}", run.display());
    }
    server.stop().await;
    Ok(())
}
