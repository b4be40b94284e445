//! Criterion benches of `portcullis-redis` and `portcullis-ratelimit` (in `redis.rs`).
//!
//! Run with `PORTCULLIS_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo bench -p
//! portcullis-bench-redis -- --warm-up-time 1 --measurement-time 3`; without the variable
//! the Redis rows are skipped with a message and only the in-memory rows run.
