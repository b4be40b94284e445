//! The allow path allocates nothing: checks on a resolved principal are counted by an
//! instrumented global allocator (`stats_alloc`). One test in this binary, so no other
//! test thread allocates while a region is measured.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::alloc::System;
use std::hint::black_box;

use common::{actor, policy, tenant};
use portcullis_rbac::{Access, CustomRole, Principal, Resource, Scope};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn checks_on_a_resolved_principal_do_not_allocate() {
    let p = policy();
    let acme = tenant("acme");
    let globex = tenant("globex");
    let bob = actor("bob");
    let member = p.resolve(
        &Principal::new(actor("alice"), acme.clone())
            .with_role("member")
            .with_plan("pro")
            .with_api_key_scopes([Scope::Read, Scope::Write]),
    );
    let custom = p.resolve(
        &Principal::new(actor("carol"), acme.clone()).with_custom_role(
            CustomRole::new("notes", "member").grant("lead", Some("notes"), Access::Write),
        ),
    );
    let root =
        p.resolve(&Principal::new(actor("root"), tenant("platform")).with_super_admin_grant());
    let read = p.action("leads:read").unwrap();
    let write = p.action("leads:write").unwrap();
    let export = p.action("leads:export").unwrap();
    let lead = Resource::new(&acme, "lead", "1").with_creator(&bob);
    let notes = Resource::new(&acme, "lead", "1").with_field("notes");
    let theirs = Resource::new(&globex, "lead", "1");

    // Control: the counter sees allocations.
    let region = Region::new(GLOBAL);
    black_box(vec![1u8; 32]);
    assert!(
        region.change().allocations > 0,
        "allocation counter is not counting"
    );

    // One warm-up pass outside the region: what a first call may set up once per process
    // or thread (in a workspace build, unified dependency features can add lazy statics)
    // is not the steady state this test is about. The measured region then repeats it.
    let check_all = |allowed: &mut usize| {
        for d in [
            p.authorize(black_box(&member), read, &lead),
            p.authorize(black_box(&member), write, &lead),
            p.authorize(black_box(&member), export, &lead),
            p.authorize(black_box(&custom), write, &notes),
            p.authorize(black_box(&root), read, &theirs),
            p.guard_route("GET", "/leads", black_box(&member)),
            p.authorize_named(black_box(&member), "leads:read", &lead),
        ] {
            *allowed += usize::from(black_box(d).is_allowed());
        }
        // Deny paths too.
        *allowed += usize::from(p.authorize(black_box(&member), read, &theirs).is_allowed());
    };
    let mut warm = 0;
    check_all(&mut warm);
    assert_eq!(warm, 7);

    // The counter is process-wide: another thread of the test harness may allocate once
    // while a region is open (CI saw 4 allocations, 900 bytes never freed, in one run that
    // a rerun did not repeat). So the steady state is measured in 5 regions of 200 passes
    // each and the quietest must show none: an allocation on the check path would show in
    // every region, at least 200 times.
    let mut regions = Vec::new();
    let mut allowed = 0;
    for _ in 0..5 {
        let region = Region::new(GLOBAL);
        for _ in 0..200 {
            check_all(&mut allowed);
        }
        regions.push(region.change());
    }
    assert_eq!(allowed, 7000);
    let quietest = regions
        .iter()
        .min_by_key(|s| (s.allocations, s.reallocations))
        .unwrap();
    assert_eq!(quietest.allocations, 0, "{regions:?}");
    assert_eq!(quietest.reallocations, 0, "{regions:?}");
    assert!(
        regions.iter().all(|s| s.allocations < 200),
        "no region may allocate on every pass: {regions:?}"
    );
}
