//! The Portcullis axum example service: `cargo run --example axum-service`.
//!
//! Serves the router of `portcullis_examples::axum_service` (see its docs for the routes)
//! on `127.0.0.1:3000`, or on `PORTCULLIS_LISTEN`. Stores are in memory unless
//! `PORTCULLIS_REDIS_URL` (tokens and replay guard in Redis) or `PORTCULLIS_DATABASE_URL`
//! (audit log in PostgreSQL) is set.
//!
//! Try it:
//!
//! ```text
//! curl -s localhost:3000/login -H 'content-type: application/json' \
//!   -d '{"tenant":"acme","username":"alice","password":"alice-demo-password"}'
//! curl -s localhost:3000/tenants/acme/documents -H "authorization: Bearer $ACCESS"
//! curl -s localhost:3000/tenants/globex/documents -H "authorization: Bearer $ACCESS"   # 403 cross-tenant
//! curl -s localhost:3000/tenants/acme/audit/verify -H "authorization: Bearer $ACCESS"
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::error::Error;
use std::sync::Arc;

use portcullis_core::{Provider, SecretString};
use portcullis_examples::axum_service::{App, ServiceConfig, Stores, serve};

fn main() -> Result<(), Box<dyn Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> Result<(), Box<dyn Error>> {
    let addr = std::env::var("PORTCULLIS_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let provider = Provider::system();
    let stores = Stores::from_env(provider.clone()).await?;
    let mut config = ServiceConfig::demo()?;
    if let Ok(key) = std::env::var("PORTCULLIS_AUDIT_SIGNING_KEY") {
        config.audit_signer_key = Some(SecretString::new(key));
    }
    let app = Arc::new(App::new(config, stores.clone(), provider)?);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "portcullis axum example listening on http://{}",
        listener.local_addr()?
    );
    println!("stores: {}", stores.describe());
    println!(
        "audit checkpoints verify with: {}",
        app.audit_verifier_key()
    );
    println!(
        "demo users: acme/alice (admin), acme/victor (viewer), globex/gina (admin), acme/lena (viewer, imported bcrypt hash); passwords <name>-demo-password"
    );
    serve(listener, app).await?;
    Ok(())
}
