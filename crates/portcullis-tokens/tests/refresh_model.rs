#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Model-based property: random sequences of rotations (of the current token or one up to
//! 11 generations older), clock moves and revocations give exactly the outcomes of the state-machine
//! table in `refresh`'s docs, computed here by an independent model.

use std::sync::Arc;
use std::time::Duration;

use futures::executor::block_on;
use portcullis_core::{ActorId, Clock, SecretArray, TenantId, UnixTime};
use portcullis_testkit::ManualClock;
use portcullis_tokens::{
    GRACE_CHAIN, MemoryRefreshStore, RefreshPolicy, RefreshTokens, TokenError,
};
use proptest::prelude::*;

const GRACE: u64 = 10;
const IDLE: u64 = 600;
const ABSOLUTE: u64 = 3000;

#[derive(Debug, Clone)]
enum Op {
    /// Advance the clock by this many seconds, then present the token `back` generations
    /// behind the newest one handed out.
    Present { advance: u64, back: usize },
    /// Revoke the family.
    Revoke,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // Mostly short steps, so replays inside the 10 s grace window happen often.
        8 => (prop_oneof![3 => 0u64..15, 1 => 0u64..700], prop_oneof![3 => 0usize..3, 1 => 0usize..12])
            .prop_map(|(advance, back)| Op::Present { advance, back }),
        1 => Just(Op::Revoke),
    ]
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Rotated { generation: u32, replay: bool },
    Reuse,
    Revoked,
    Expired,
}

struct Model {
    revoked: bool,
    expires_at: u64,
    current: u32,
    idle_until: u64,
    /// (generation, grace_until) of the tokens rotated less than a grace window ago,
    /// oldest first, at most GRACE_CHAIN.
    recent: Vec<(u32, u64)>,
}

impl Model {
    fn present(&mut self, generation: u32, now: u64) -> Outcome {
        if self.revoked {
            return Outcome::Revoked;
        }
        if now >= self.expires_at {
            return Outcome::Expired;
        }
        if generation == self.current {
            if now >= self.idle_until {
                return Outcome::Expired;
            }
            self.recent.retain(|&(_, grace_until)| now < grace_until);
            self.recent.push((self.current, now + GRACE));
            if self.recent.len() > GRACE_CHAIN {
                self.recent.remove(0);
            }
            self.current += 1;
            self.idle_until = (now + IDLE).min(self.expires_at);
            return Outcome::Rotated {
                generation: self.current,
                replay: false,
            };
        }
        if self
            .recent
            .iter()
            .any(|&(g, grace_until)| g == generation && now < grace_until)
        {
            return Outcome::Rotated {
                generation: self.current,
                replay: true,
            };
        }
        self.revoked = true;
        Outcome::Reuse
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn rotation_matches_the_table(ops in proptest::collection::vec(op(), 1..40)) {
        let clock = ManualClock::at(UnixTime::from_secs(1_000_000));
        let svc = RefreshTokens::new(
            Arc::new(MemoryRefreshStore::new()),
            SecretArray::new([4; 32]),
            RefreshPolicy {
                absolute: Duration::from_secs(ABSOLUTE),
                idle: Duration::from_secs(IDLE),
                grace: Duration::from_secs(GRACE),
                ..RefreshPolicy::default()
            },
            clock.provider(1),
        ).unwrap();
        let tenant: TenantId = "acme".parse().unwrap();
        let subject: ActorId = "alice".parse().unwrap();
        let first = block_on(svc.issue(&tenant, &subject)).unwrap();
        let start = clock.now().as_secs();
        let mut model = Model {
            revoked: false,
            expires_at: start + ABSOLUTE,
            current: 0,
            idle_until: start + IDLE,
            recent: Vec::new(),
        };
        // Every token handed out, by generation.
        let mut tokens = vec![first.token.expose_secret().to_owned()];
        for op in ops {
            match op {
                Op::Revoke => {
                    block_on(svc.revoke_family(&tenant, &first.family)).unwrap();
                    model.revoked = true;
                }
                Op::Present { advance, back } => {
                    clock.advance(Duration::from_secs(advance));
                    let generation = tokens.len().saturating_sub(1 + back);
                    let now = clock.now().as_secs();
                    let expected = model.present(u32::try_from(generation).unwrap(), now);
                    let got = match block_on(svc.rotate(&tenant, &tokens[generation])) {
                        Ok(next) => {
                            let g = usize::try_from(next.generation).unwrap();
                            if g == tokens.len() {
                                tokens.push(next.token.expose_secret().to_owned());
                            } else {
                                // A replay hands out the very successor issued before.
                                prop_assert_eq!(next.token.expose_secret(), tokens[g].as_str());
                            }
                            Outcome::Rotated { generation: next.generation, replay: next.replay }
                        }
                        Err(TokenError::ReuseDetected { family, .. }) => {
                            prop_assert_eq!(family, first.family);
                            Outcome::Reuse
                        }
                        Err(TokenError::RefreshRevoked { .. }) => Outcome::Revoked,
                        Err(TokenError::RefreshExpired) => Outcome::Expired,
                        Err(e) => panic!("unexpected {e}"),
                    };
                    prop_assert_eq!(got, expected);
                }
            }
        }
    }
}
