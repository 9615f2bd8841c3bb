//! What the binary-driver, transfer, pipeline and hold tests share: a real
//! protolab-binary on loopback ports chosen by the OS (rate limits off unless a test
//! is about them), and case specs with short, bounded plans.
#![allow(dead_code)] // each test file uses a different part

use std::time::Duration;

use loadgen::driver::http::TlsOptions;
use loadgen::driver::OpSpec;
use loadgen::engine::{LoadPlan, Model};
use loadgen::scenario::{CaseSpec, Kind};
use protolab_binary::{start_in_process, BinaryConfig, InProcess};

/// Rows in the test dataset.
pub const ITEMS: u32 = 1_000;

pub struct Binary {
    pub srv: InProcess,
    pub dir: tempfile::TempDir,
}

impl Binary {
    /// The lab CA, for TLS targets.
    pub fn tls(&self) -> TlsOptions {
        TlsOptions {
            ca: Some(self.dir.path().join("ca.crt")),
            cert: None,
            key: None,
        }
    }

    pub fn plain(&self) -> String {
        self.srv.plain.to_string()
    }

    /// The TLS port by the name the lab certificate carries.
    pub fn tls_target(&self) -> String {
        format!("https://localhost:{}", self.srv.tls.port())
    }

    pub fn framed(&self) -> String {
        self.srv.framed.to_string()
    }

    pub fn admin(&self) -> String {
        self.srv.admin.to_string()
    }
}

/// No rate limits: tests not about them must not trip NET-001's 1000 msg/s.
pub fn unlimited() -> BinaryConfig {
    BinaryConfig {
        rate_limit: 0,
        global_rate_limit: 0,
        ..BinaryConfig::default()
    }
}

pub async fn binary(config: BinaryConfig) -> anyhow::Result<Binary> {
    let dir = tempfile::tempdir()?;
    let srv = start_in_process(dir.path(), ITEMS, |_| {}, config).await?;
    Ok(Binary { srv, dir })
}

/// A closed-loop plan of `connections`, 400 ms after 100 ms of warm-up.
pub fn plan(connections: usize) -> LoadPlan {
    LoadPlan {
        model: Model::Closed,
        connections,
        inflight: 1,
        duration: Duration::from_millis(400),
        warmup: Duration::from_millis(100),
        requests: None,
        requests_per_worker: None,
        timeout: Duration::from_secs(5),
        max_lag: Duration::from_millis(50),
    }
}

pub fn spec(name: &str, op: OpSpec, kind: Kind, plan: LoadPlan) -> CaseSpec {
    CaseSpec {
        name: name.into(),
        protocol: name.into(),
        target: String::new(),
        op,
        kind,
        plan,
        repeat: 1,
        z_threshold: 2.0,
    }
}

/// Every request/response op of the contract, small.
pub fn ops() -> Vec<OpSpec> {
    vec![
        OpSpec::Ping,
        OpSpec::GetItem { ids: ITEMS },
        OpSpec::ListItems {
            limit: 20,
            category: None,
        },
        OpSpec::Echo { size: 2048 },
        OpSpec::Score { dims: 8 },
    ]
}
