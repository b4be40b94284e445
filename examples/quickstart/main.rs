//! A tour of Portcullis, all in memory. Run it with `cargo run --example quickstart`.

use std::error::Error;

use portcullis_core::{
    ActorId, Clock, OsRandom, SecretArray, SecretString, SystemClock, TenantId, random_array,
};
use subtle::ConstantTimeEq;

fn main() -> Result<(), Box<dyn Error>> {
    println!("== Portcullis quickstart ==\n");

    println!("-- Identifiers are parsed, so an invalid one cannot exist --");
    let tenant: TenantId = "acme-corp".parse()?;
    let actor: ActorId = "alice@acme.example".parse()?;
    println!("tenant {tenant} and actor {actor} parsed");
    for bad in ["acme corp", "", "-acme", "acme{1}"] {
        match bad.parse::<TenantId>() {
            Ok(t) => println!("unexpectedly accepted {t}"),
            Err(e) => println!("rejected {bad:?}: {e}"),
        }
    }

    println!("\n-- Secrets never print and compare in constant time --");
    let password = SecretString::from("correct horse battery staple".to_owned());
    println!("Debug of a secret: {password:?}");
    let guess = SecretString::from("correct horse battery stapler".to_owned());
    println!("guess matches: {}", bool::from(password.ct_eq(&guess)));
    let key = SecretArray::<32>::random(&OsRandom)?;
    println!("a fresh 256-bit key: {key:?} (zeroized when dropped)");

    println!("\n-- Time and randomness are injected --");
    let now = SystemClock.now();
    println!("the system clock reads {} s since the epoch", now.as_secs());
    let nonce: [u8; 12] = random_array(&OsRandom)?;
    println!("a 96-bit nonce from the OS generator: {}", hex(&nonce));

    println!("\nThe concern crates (tokens, keys, webhooks, rbac, audit) build on these types.");
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
