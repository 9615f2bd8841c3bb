//! Contract errors as gRPC statuses, mapped once. Internal errors carry no detail.

use protolab_core::ContractError;
use tonic::Status;

pub fn to_status(e: ContractError) -> Status {
    match e {
        ContractError::NotFound(_) => Status::not_found(e.to_string()),
        ContractError::InvalidArgument(_) => Status::invalid_argument(e.to_string()),
        ContractError::TooLarge { .. } => Status::resource_exhausted(e.to_string()),
        ContractError::Internal => Status::internal("internal error"),
    }
}
