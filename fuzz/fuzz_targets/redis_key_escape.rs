//! Key names built from untrusted components: escaping is injective, never yields a
//! character that would end a key segment or open/close a hash tag, and every key keeps
//! exactly one non-empty hash tag, so two inputs never share a key or escape their slot.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_redis::{KeySpace, escape};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, b) = text.split_at(text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i));
    let (ea, eb) = (escape(a), escape(b));
    assert!(!ea.contains([':', '{', '}']) && !ea.is_empty());
    assert_eq!(ea == eb, a == b, "escape is not injective: {a:?} {b:?}");
    let ks = KeySpace::new("fuzz").unwrap();
    for key in [ks.replay(a, b), ks.rate("lim", a)] {
        let open = key.find('{').unwrap();
        let close = key.find('}').unwrap();
        assert!(close > open + 1);
        assert_eq!(key.matches('{').count(), 1);
        assert_eq!(key.matches('}').count(), 1);
    }
    // Distinct (scope, id) pairs give distinct keys.
    assert_eq!(ks.replay(a, b) == ks.replay(b, a), a == b);
});
