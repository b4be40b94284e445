//! Chain verification of untrusted log lines never panics, and a tampered chain that
//! still verifies must be the original one (no accepted forgery).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis_audit::verify_lines;
use portcullis_audit::{Entry, Hash, Metadata, NewEntry, RunStep};
use portcullis_core::{ActorId, TenantId, UnixTime};

fn original() -> &'static (TenantId, Vec<String>, Hash) {
    static ORIGINAL: OnceLock<(TenantId, Vec<String>, Hash)> = OnceLock::new();
    ORIGINAL.get_or_init(|| {
        let tenant = TenantId::new("acme").expect("valid tenant");
        let mut prev = Hash::ZERO;
        let mut lines = Vec::new();
        for i in 1..=4u64 {
            let body = NewEntry::new(ActorId::new(format!("user{i}")).expect("actor"), "doc.edit", &format!("doc/{i} é"))
                .expect("entry")
                .with_ip(format!("192.0.2.{i}").parse().expect("ip"))
                .with_run(RunStep::new("run-1", i).expect("run"))
                .with_metadata(Metadata::parse(&format!(r#"{{"i":{i},"s":"x\n"}}"#)).expect("metadata"));
            let e = Entry::seal(tenant.clone(), i - 1, prev, UnixTime::from_millis(1_700_000_000_000 + i), body);
            prev = *e.hash();
            lines.push(e.to_json_line().expect("json"));
        }
        (tenant, lines, prev)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (tenant, lines, head) = original();
    if mode % 2 == 0 {
        // Raw untrusted text as a log.
        let text = String::from_utf8_lossy(rest);
        let raw: Vec<&str> = text.split('\n').collect();
        let _ = verify_lines(&raw, Some(tenant), None);
        let _ = verify_lines(&raw, None, None);
        return;
    }
    // Mutations of a valid log: (line, position, xor) triples.
    let mut mutated: Vec<Vec<u8>> = lines.iter().map(|l| l.clone().into_bytes()).collect();
    for m in rest.chunks_exact(4) {
        let line = usize::from(m[0]) % mutated.len();
        let len = mutated[line].len();
        let pos = usize::from(u16::from_le_bytes([m[1], m[2]])) % len;
        mutated[line][pos] ^= m[3];
    }
    let text: Vec<String> = mutated.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
    if text.iter().any(|l| l.contains('\n')) {
        return;
    }
    let refs: Vec<&str> = text.iter().map(String::as_str).collect();
    if let Ok(report) = verify_lines(&refs, Some(tenant), None) {
        assert_eq!(report.head.hash, *head, "a modified log verified with a different head");
        assert_eq!(report.head.size, 4);
    }
});
