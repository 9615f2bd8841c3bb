//! One vocabulary of refusals: every code a protolab server puts on the wire (NET-001
//! ERROR codes and DATA statuses, the framed and WebSocket envelopes' `code`, which
//! is `ContractError::code` for a failed operation) names a `Refusal` of its own.

use protolab_bench::Refusal;
use protolab_core::ContractError;
use protolab_wire::net001::data::FailStatus;
use protolab_wire::ErrorCode;

fn known(code: &str) -> Refusal {
    let r = Refusal::from_code(Some(code));
    assert_ne!(r, Refusal::Other, "{code} names no refusal");
    assert_eq!(
        r.label(),
        code,
        "a refusal is counted under the server's code"
    );
    r
}

#[test]
fn every_server_code_names_its_refusal() {
    for code in ErrorCode::ALL {
        known(code.name());
    }
    for status in FailStatus::ALL {
        known(status.name());
    }
    let contract = [
        ContractError::NotFound(1),
        ContractError::InvalidArgument("x".into()),
        ContractError::TooLarge { size: 2, limit: 1 },
        ContractError::Internal,
    ];
    for e in contract {
        known(e.code());
    }
}

#[test]
fn connection_closing_refusals_are_the_ones_the_servers_close_on() {
    assert!(known(ErrorCode::ServerBusy.name()).closes_connection());
    assert!(known(ErrorCode::BadMagic.name()).closes_connection());
    assert!(known(ErrorCode::TooLarge.name()).closes_connection());
    assert!(!known(ErrorCode::RateLimited.name()).closes_connection());
    assert!(!known(ContractError::NotFound(1).code()).closes_connection());
}

#[test]
fn unknown_or_missing_codes_are_other() {
    assert_eq!(Refusal::from_code(None), Refusal::Other);
    assert_eq!(Refusal::from_code(Some("no_such_code")), Refusal::Other);
    assert_eq!(Refusal::Other.label(), "rejected");
}
