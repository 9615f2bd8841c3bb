//! The README's library example, compiled with the workspace so it cannot go stale
//! (`loadgen/tests/readme_example.rs` checks that the README shows these lines): your
//! own call, here reqwest against the REST server of `make up`, measured by
//! protolab's engine and saved as a run `loadgen report` draws.
//!
//! ```text
//! make up && cargo run --release -p loadgen --example my_call
//! ```

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // README: begin
    use protolab_bench::measure::{calls, save, Bench};
    use protolab_bench::CallError;
    use std::time::Duration;

    // Your call: GET an item from the REST server, as your app would.
    let client = reqwest::Client::new();
    let get_item = move |seq: u64| {
        let (client, id) = (client.clone(), seq % 1000 + 1);
        async move {
            let url = format!("http://127.0.0.1:8000/items/{id}");
            let answer = client.get(url).send().await;
            let answer = answer.map_err(|e| CallError::failed("http", e))?;
            answer
                .error_for_status()
                .map_err(|e| CallError::failed("status", e))?;
            Ok(())
        }
    };
    // 8 callers in closed loop for 10 s after a 2 s warm-up, 3 repetitions.
    let result = Bench::closed(8, Duration::from_secs(10))
        .repeat(3)
        .run(calls("get_item", get_item))
        .await;
    println!("{}", protolab_bench::results::brief(&result));
    save("results".as_ref(), vec![result])?; // then: loadgen report results/<run-id>

    // README: end
    Ok(())
}
