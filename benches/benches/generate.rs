//! Micro-benchmark of generating one customer with its contracts and rendering raw records.

use contract_search_sim::generate::Generator;
use contract_search_sim::powercloud::RawContract;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn generate(criterion: &mut Criterion) {
    let generator = Generator::new(42, 100_000);
    let mut index = 0;
    criterion.bench_function("customer", |bench| {
        bench.iter(|| {
            index = (index + 1) % generator.num_customers();
            black_box(generator.customer(index))
        })
    });
    let customer = generator.customer(7);
    criterion.bench_function("render_and_serialise_contract", |bench| {
        bench.iter(|| serde_json::to_vec(&RawContract::render(&customer, &customer.contracts[0])).unwrap())
    });
}

criterion_group!(benches, generate);
criterion_main!(benches);
