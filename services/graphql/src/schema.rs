//! The GraphQL schema: the operation contract as queries, mutations and subscriptions.
//!
//! Every resolver is a thin call into `protolab_core` (dataset, contract, hub) wrapped
//! in `error::observed`, which records the operation and maps its error. Limits
//! (depth, complexity) are set here once, so the committed SDL and the served schema
//! cannot differ. Resolvers never panic on input; subscriptions end on shutdown.

use async_graphql::{Context, Object, Schema, SchemaBuilder, Subscription};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use futures::{Stream, StreamExt};
use protolab_core::contract::{self, ListQuery, StreamParams, DEFAULT_LIST_LIMIT};
use protolab_core::hub::{self, Hub, HubEvent};
use protolab_core::{ContractError, Op, ServerState};

use crate::error::{observed, rejected, StreamGuard};
use crate::types::{BroadcastEvent, BroadcastReceipt, GqlItem, Tick, U64};

/// Deepest selection accepted. Our own types nest two levels; 16 leaves room for the
/// standard introspection query (about 13 levels) and nothing much beyond.
pub const MAX_DEPTH: usize = 16;
/// Largest query complexity (one point per field) accepted.
pub const MAX_COMPLEXITY: usize = 1000;

/// The served schema.
pub type AppSchema = Schema<Query, Mutation, SubscriptionRoot>;

/// What resolvers share: the server state and the broadcast hub.
pub struct Shared {
    pub state: ServerState,
    pub hub: Hub,
}

fn builder() -> SchemaBuilder<Query, Mutation, SubscriptionRoot> {
    Schema::build(Query, Mutation, SubscriptionRoot)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
}

/// The schema serving `state`, with a fresh broadcast hub.
pub fn build(state: ServerState) -> AppSchema {
    let hub = Hub::new(hub::DEFAULT_CAPACITY, &state.metrics);
    builder().data(Shared { state, hub }).finish()
}

/// The schema in SDL (what `schema.graphql` holds).
pub fn sdl() -> String {
    builder().finish().sdl()
}

fn shared<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Shared> {
    ctx.data::<Shared>()
}

/// Queries: ping, get_item, list_items.
pub struct Query;

#[Object]
impl Query {
    /// Smallest round trip: always "pong".
    async fn ping(&self, ctx: &Context<'_>) -> async_graphql::Result<&'static str> {
        let s = shared(ctx)?;
        observed(&s.state.metrics, Op::Ping, async { Ok("pong") }).await
    }

    /// One item by id; a NOT_FOUND error when there is none.
    async fn item(&self, ctx: &Context<'_>, id: i64) -> async_graphql::Result<GqlItem> {
        let s = shared(ctx)?;
        let item = observed(&s.state.metrics, Op::GetItem, s.state.dataset.get_item(id)).await?;
        Ok(item.into())
    }

    /// One page of items ordered by id, optionally within one category.
    /// `limit` is 1..=1000.
    async fn items(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 0)] offset: i64,
        #[graphql(default_with = "DEFAULT_LIST_LIMIT")] limit: i64,
        category: Option<String>,
    ) -> async_graphql::Result<Vec<GqlItem>> {
        let s = shared(ctx)?;
        let q = ListQuery {
            offset,
            limit,
            category,
        };
        let items = observed(
            &s.state.metrics,
            Op::ListItems,
            s.state.dataset.list_items(&q),
        )
        .await?;
        Ok(items.into_iter().map(GqlItem::from).collect())
    }
}

/// Mutations: echo, score, broadcast.
pub struct Mutation;

#[Object]
impl Mutation {
    /// Returns `data` (base64) unchanged after decoding it and checking its size.
    async fn echo(&self, ctx: &Context<'_>, data: String) -> async_graphql::Result<String> {
        let s = shared(ctx)?;
        let max = s.state.max_body;
        observed(&s.state.metrics, Op::Echo, async move {
            let bytes = BASE64
                .decode(data.as_bytes())
                .map_err(|_| ContractError::InvalidArgument("invalid base64".into()))?;
            contract::check_size(bytes.len(), max)?;
            Ok(BASE64.encode(bytes))
        })
        .await
    }

    /// reference/002's score: the mean of every number in `json`, after DELAY_MS.
    async fn score(&self, ctx: &Context<'_>, json: String) -> async_graphql::Result<f64> {
        let s = shared(ctx)?;
        observed(&s.state.metrics, Op::Score, async {
            contract::service_delay(s.state.delay).await;
            contract::score(&json)
        })
        .await
    }

    /// Publishes `message` to every `broadcasts` subscriber.
    async fn broadcast(
        &self,
        ctx: &Context<'_>,
        message: String,
    ) -> async_graphql::Result<BroadcastReceipt> {
        let s = shared(ctx)?;
        observed(&s.state.metrics, Op::Broadcast, async {
            contract::check_size(message.len(), s.state.max_body)?;
            let (msg, reached) = s.hub.publish(message);
            Ok(BroadcastReceipt {
                seq: U64(msg.seq),
                subscribers: i32::try_from(reached).unwrap_or(i32::MAX),
            })
        })
        .await
    }
}

/// Subscriptions: ticks (the `stream` op) and broadcasts (`subscribe`).
pub struct SubscriptionRoot;

fn non_negative(name: &str, v: i32) -> Result<u64, ContractError> {
    u64::try_from(v).map_err(|_| ContractError::InvalidArgument(format!("{name} must be >= 0")))
}

fn stream_params(count: i32, interval_ms: i32, size: i32) -> Result<StreamParams, ContractError> {
    let p = StreamParams {
        count: non_negative("count", count)?,
        interval_ms: non_negative("intervalMs", interval_ms)?,
        size: non_negative("size", size)? as usize,
    };
    p.validate()?;
    Ok(p)
}

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// `count` events, `intervalMs` apart (the first at once), each with `size`
    /// payload bytes, then the subscription completes.
    async fn ticks(
        &self,
        ctx: &Context<'_>,
        count: i32,
        interval_ms: i32,
        size: i32,
    ) -> async_graphql::Result<impl Stream<Item = Tick>> {
        let s = shared(ctx)?;
        let metrics = s.state.metrics.clone();
        let params = stream_params(count, interval_ms, size)
            .map_err(|e| rejected(&metrics, Op::Stream, &e))?;
        let guard = StreamGuard::new(metrics, Op::Stream);
        let events = params.events().map(move |e| {
            let _ = &guard;
            Tick::from(e)
        });
        Ok(events.take_until(s.state.shutdown.clone().cancelled_owned()))
    }

    /// Every message published by `broadcast` from now on (see `BroadcastEvent` for
    /// the lag notice).
    async fn broadcasts(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = BroadcastEvent>> {
        let s = shared(ctx)?;
        let guard = StreamGuard::new(s.state.metrics.clone(), Op::Subscribe);
        let events = s.hub.subscribe().into_stream().map(move |e| {
            let _ = &guard;
            match e {
                HubEvent::Message(m) => BroadcastEvent::from_message(&m),
                HubEvent::Lagged(n) => BroadcastEvent::lag_notice(n),
            }
        });
        Ok(events.take_until(s.state.shutdown.clone().cancelled_owned()))
    }
}
