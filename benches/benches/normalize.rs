//! Micro-benchmarks of the normalisers on the hot path of indexing and querying.

use contract_search_model::normalize::{
    fold_name, fold_street, normalize_email, normalize_iban, normalize_phone,
};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn normalisers(criterion: &mut Criterion) {
    let phones = ["+49 171 1234567", "0171/1234567", "(030) 1234567", "491711234567", "+49 (0)89 123456"];
    criterion.bench_function("normalize_phone", |bench| {
        bench
            .iter(|| phones.iter().map(|phone| normalize_phone(black_box(phone)).is_ok() as u32).sum::<u32>())
    });
    criterion.bench_function("normalize_iban", |bench| {
        bench.iter(|| normalize_iban(black_box("DE89 3704 0044 0532 0130 00")))
    });
    criterion.bench_function("normalize_email", |bench| {
        bench.iter(|| normalize_email(black_box("  Thomas.Mueller@Web.DE ")))
    });
    criterion.bench_function("fold_name", |bench| bench.iter(|| fold_name(black_box("Müller-Lüdenscheidt"))));
    criterion
        .bench_function("fold_street", |bench| bench.iter(|| fold_street(black_box("Hugo-Junkers-Straße"))));
}

criterion_group!(benches, normalisers);
criterion_main!(benches);
