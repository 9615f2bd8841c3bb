//! The dashboard in a real browser: headless Chromium over WebDriver (chromedriver,
//! driven by fantoccini). Loads the page, sees the local servers come up live,
//! gets a clear message for a bad parameter, starts a short `--local` run, watches
//! its request count change while it runs, opens the finished run's charts, and
//! writes screenshots to target/dashboard-*.png. `drive` fails with errors, never
//! panics, so the browser session is always closed (no Chromium left behind).
//!
//! Skips, saying so, when chromedriver is absent (Debian: `apt-get install -y
//! chromium chromium-driver`; or point CHROMEDRIVER at one).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

fn chromedriver() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMEDRIVER") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|d| d.join("chromedriver"))
        .find(|p| p.is_file())
}

/// target/debug (server binaries) and target/ (screenshots), from this test's path.
fn target_dirs() -> Option<(PathBuf, PathBuf)> {
    let debug = std::env::current_exe()
        .ok()?
        .parent()?
        .parent()?
        .to_path_buf();
    let target = debug.parent()?.to_path_buf();
    Some((debug, target))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn start_chromedriver(bin: &PathBuf) -> anyhow::Result<(tokio::process::Child, u16)> {
    let port = free_port()?;
    let child = tokio::process::Command::new(bin)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok((child, port));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("chromedriver did not listen on {port}")
}

async fn browser(port: u16) -> anyhow::Result<Client> {
    let mut caps = serde_json::Map::new();
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ];
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "args": args }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await?;
    Ok(client)
}

async fn text(c: &Client, css: &str) -> anyhow::Result<String> {
    Ok(c.find(Locator::Css(css)).await?.text().await?)
}

async fn wait_css(
    c: &Client,
    css: &str,
    secs: u64,
) -> anyhow::Result<fantoccini::elements::Element> {
    let found = c
        .wait()
        .at_most(Duration::from_secs(secs))
        .for_element(Locator::Css(css))
        .await;
    found.map_err(|e| anyhow::anyhow!("waiting for {css}: {e}"))
}

async fn screenshot(c: &Client, path: &PathBuf) -> anyhow::Result<()> {
    std::fs::write(path, c.screenshot().await?)?;
    eprintln!("screenshot: {}", path.display());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_time_user_runs_a_case_and_opens_its_charts() -> anyhow::Result<()> {
    let Some(driver) = chromedriver() else {
        eprintln!("SKIPPED: chromedriver not found (apt-get install -y chromium chromium-driver, or set CHROMEDRIVER)");
        return Ok(());
    };
    let Some((bins, target)) = target_dirs() else {
        anyhow::bail!("cannot tell where cargo's target folder is");
    };
    if !bins.join("protolab-rest").exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let args = ["build", "-p", "protolab-rest", "--bin", "protolab-rest"];
        let built = std::process::Command::new(cargo).args(args).status();
        if !built.is_ok_and(|s| s.success()) {
            eprintln!("SKIPPED: no protolab-rest binary in {}", bins.display());
            return Ok(());
        }
    }
    let dashboard = common::LocalDashboard::start(&bins, 1000).await?;
    let addr = dashboard.addr;
    let (_chromedriver, port) = start_chromedriver(&driver).await?;
    let c = browser(port).await?;
    let outcome = drive(&c, &format!("http://{addr}"), &target).await;
    let _ = c.close().await;
    dashboard.stop().await?;
    outcome
}

async fn drive(c: &Client, base: &str, target: &std::path::Path) -> anyhow::Result<()> {
    c.goto(&format!("{base}/")).await?;
    wait_css(c, "tr[data-server=\"rest\"] .badge.running", 30).await?;
    anyhow::ensure!(text(c, "#conn").await?.contains("live"));
    anyhow::ensure!(text(c, "#run").await?.contains("No run yet"));

    // A bad value: the page says what is wrong, in words.
    let duration = c.find(Locator::Css("input[name=duration]")).await?;
    duration.clear().await?;
    duration.send_keys("soon").await?;
    let endpoints = c.find(Locator::Css("input[name=endpoints]")).await?;
    endpoints.send_keys("rest-h1").await?;
    c.find(Locator::Css("#launch button[type=submit]"))
        .await?
        .click()
        .await?;
    let error = wait_css(c, "#launch-error:not([hidden])", 10).await?;
    let said = error.text().await?;
    anyhow::ensure!(said.contains("duration"), "{said}");

    duration.clear().await?;
    duration.send_keys("4s").await?;
    c.find(Locator::Css("#launch button[type=submit]"))
        .await?
        .click()
        .await?;
    wait_css(c, "#run .badge.running", 10).await?;

    // Live numbers: the running case's request count grows second by second.
    let requests = "#run tr.running td[data-field=requests]";
    let count = |t: String| t.replace(',', "").parse::<u64>().unwrap_or(0);
    let mut first = 0;
    for _ in 0..100 {
        if let Ok(t) = text(c, requests).await {
            first = count(t);
            if first > 0 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::ensure!(first > 0, "the running case shows requests");
    let mut later = first;
    // Ticks come once a second: allow a few.
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The row is re-rendered every second: a read can hit a replaced (stale)
        // element, so a failed read is simply retried.
        if let Ok(t) = text(c, requests).await {
            later = count(t);
        }
        if later > first {
            break;
        }
    }
    if later <= first {
        screenshot(c, &target.join("dashboard-failed.png")).await?;
        anyhow::bail!(
            "requests went from {first} to {later}: {}",
            text(c, "#run").await?
        );
    }
    anyhow::ensure!(text(c, "#run").await?.contains("p99"));
    screenshot(c, &target.join("dashboard-live.png")).await?;

    let open = wait_css(c, "#open-run", 60).await?;
    screenshot(c, &target.join("dashboard-finished.png")).await?;
    open.click().await?;
    wait_css(c, "figure.chart svg", 30).await?;
    anyhow::ensure!(text(c, "table.headline")
        .await?
        .contains("rest-h1/throughput/get_item"));
    screenshot(c, &target.join("dashboard-run.png")).await?;
    Ok(())
}
