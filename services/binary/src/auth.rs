//! AUTH for NET-001: the configured `user:token` pairs, token comparison in constant
//! time, and opaque session ids.
//!
//! Tokens come from AUTH_TOKENS as `user:token,user2:token2`, or `@path` naming a file
//! of the same pairs (commas or newlines; `#` starts a comment line). Nothing here
//! logs a token.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;

use protolab_wire::net001::SESSION_ID_LEN;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("reading auth tokens from {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("auth token entry {0} is not `user:token`")]
    Entry(usize),
}

/// The accepted credentials; empty means authentication is off.
#[derive(Clone, Default)]
pub struct AuthTokens(HashMap<String, Vec<u8>>);

impl std::fmt::Debug for AuthTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthTokens")
            .field("users", &self.0.len())
            .finish()
    }
}

impl AuthTokens {
    /// Parses AUTH_TOKENS (`user:token,...` or `@file`).
    pub fn parse(spec: &str) -> Result<AuthTokens, AuthError> {
        let text = match spec.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|source| AuthError::Read {
                path: PathBuf::from(path),
                source,
            })?,
            None => spec.to_owned(),
        };
        let mut map = HashMap::new();
        let entries = text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.starts_with('#'));
        for (i, entry) in entries.enumerate() {
            match entry.split_once(':') {
                Some((user, token)) if !user.is_empty() && !token.is_empty() => {
                    map.insert(user.to_owned(), token.as_bytes().to_vec());
                }
                _ => return Err(AuthError::Entry(i + 1)),
            }
        }
        Ok(AuthTokens(map))
    }

    /// Pairs given directly (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> AuthTokens {
        AuthTokens(
            pairs
                .into_iter()
                .map(|(u, t)| (u.to_owned(), t.as_bytes().to_vec()))
                .collect(),
        )
    }

    /// Whether clients must AUTH before DATA and BROADCAST.
    pub fn required(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `token` is `user`'s; compares every byte whatever the mismatch.
    pub fn verify(&self, user: &str, token: &[u8]) -> bool {
        match self.0.get(user) {
            Some(expected) => constant_time_eq(expected, token),
            None => false,
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new opaque session id: 128 bits from SipHash with the standard library's
/// randomly keyed hasher (no extra dependency; ids identify, they do not authorise).
pub fn session_id() -> [u8; SESSION_ID_LEN] {
    let mut id = [0u8; SESSION_ID_LEN];
    for (i, half) in id.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u64(protolab_core::contract::now_micros());
        half.copy_from_slice(&h.finish().to_be_bytes());
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairs_and_verifies() {
        let t = AuthTokens::parse("alice:s3cret, bob:tok").expect("parses");
        assert!(t.required());
        assert!(t.verify("alice", b"s3cret"));
        assert!(!t.verify("alice", b"s3cres"));
        assert!(!t.verify("carol", b"s3cret"));
        assert!(AuthTokens::parse("nocolon").is_err());
        assert!(!AuthTokens::parse("").expect("empty is off").required());
    }

    #[test]
    fn session_ids_differ() {
        assert_ne!(session_id(), session_id());
    }
}
