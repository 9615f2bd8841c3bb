//! The endpoint table and the protocol → driver mapping agree: every endpoint's
//! driver, built by `with_driver` for the endpoint's target on a lab's default
//! ports, reports the endpoint's own name (the name its results are filed under).

use protolab_bench::{Driver, OpSpec};
use protolab_drivers::{with_driver, DriverConfig, ServerAddr, TlsOptions, UseDriver, ENDPOINTS};

/// Asks the driver its name.
struct Name;

impl UseDriver for Name {
    type Output = String;

    async fn run<D: Driver>(self, driver: D) -> String {
        driver.name()
    }
}

#[tokio::test]
async fn every_endpoint_builds_a_driver_of_its_own_name() -> anyhow::Result<()> {
    let certs = tempfile::tempdir()?;
    protolab_core::certs::write_to(certs.path())?;
    let tls = TlsOptions {
        ca: Some(certs.path().join("ca.crt")),
        cert: Some(certs.path().join("client.crt")),
        key: Some(certs.path().join("client.key")),
    };
    for e in ENDPOINTS {
        let addr = ServerAddr::default_on(e.server(), "localhost")
            .ok_or_else(|| anyhow::anyhow!("{}: no default ports", e.server()))?;
        let config = DriverConfig {
            target: e.target(&addr),
            http: e.http,
            tls: tls.clone(),
            auth: None,
            seed: 42,
        };
        let name = with_driver(e.protocol, &config, &OpSpec::Ping, Name)
            .await
            .map_err(|err| anyhow::anyhow!("{}: {err}", e.name))?;
        assert_eq!(
            name, e.name,
            "the driver for {} calls itself {name}",
            e.name
        );
    }
    Ok(())
}
