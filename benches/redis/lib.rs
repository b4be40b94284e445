//! Criterion benches of `portcullis-redis` and `portcullis-ratelimit` live in `redis.rs`.
