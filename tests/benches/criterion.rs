//! Micro-benchmarks of the harness's hot loops, in memory (no server):
//! the MD5 digest over raw documents, the dataset generators, MongoDB's
//! `_id` order, and the BSON stream reader of the format layer.
//!
//! `cargo bench --bench criterion`; measurement time is short (2 s per
//! bench) so the whole target ends in a couple of minutes.

use std::hint::black_box;
use std::time::Duration;

use bson::{RawBsonRef, RawDocumentBuf, oid::ObjectId, rawdoc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drdrill::backup::format::{BsonStream, Origin};
use drdrill::checksum::Md5Digest;
use drdrill::checksum::order::compare_values;
use drdrill::dataset::{Profile, SeedPlan, documents, generate_document};
use drdrill::provider::server_info::Capabilities;

/// Documents per plan: large enough that every collection has many.
const PLAN_DOCUMENTS: u64 = 100_000;
/// Documents fed to the digest and the stream reader per iteration.
const BATCH: usize = 2_000;

fn plan() -> SeedPlan {
    SeedPlan::new(&Profile::builtin("shepherd-cms").unwrap(), PLAN_DOCUMENTS, 7).unwrap()
}

fn configurations(plan: &SeedPlan, capabilities: &Capabilities) -> Vec<RawDocumentBuf> {
    documents(plan, "configurations", capabilities).take(BATCH).collect()
}

fn md5_digest(criterion: &mut Criterion) {
    let plan = plan();
    let capabilities = Capabilities::ferretdb(true);
    let batch = configurations(&plan, &capabilities);
    let bytes: u64 = batch.iter().map(|document| document.as_bytes().len() as u64).sum();
    let mut group = criterion.benchmark_group("md5_digest");
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function(format!("{BATCH}_configurations"), |bencher| {
        bencher.iter(|| {
            let mut digest = Md5Digest::new();
            for document in &batch {
                digest.update(black_box(document));
            }
            digest.finish()
        })
    });
    group.finish();
}

fn generate(criterion: &mut Criterion) {
    let plan = plan();
    let capabilities = Capabilities::ferretdb(true);
    let mut group = criterion.benchmark_group("generate_document");
    group.throughput(Throughput::Elements(1));
    for (collection, count) in plan.counts() {
        group.bench_with_input(
            BenchmarkId::from_parameter(collection),
            collection,
            |bencher, collection| {
                // Walk the indexes so per-index branches are all exercised.
                let mut index = 0u64;
                bencher.iter(|| {
                    index = (index + 1) % *count;
                    generate_document(&plan, collection, black_box(index), &capabilities)
                })
            },
        );
    }
    group.finish();
}

fn id_order(criterion: &mut Criterion) {
    let plan = plan();
    let capabilities = Capabilities::ferretdb(true);
    // The generators' `_id`s (ObjectIds), as a checksum comparison meets them.
    let generated: Vec<RawDocumentBuf> = configurations(&plan, &capabilities);
    // Mixed types, as a restored real dump can hold: numbers of three
    // widths, strings, documents and ObjectIds, so type ranks are compared.
    let mixed: Vec<RawDocumentBuf> = (0..BATCH as i64)
        .map(|index| match index % 6 {
            0 => rawdoc! { "_id": index as i32 },
            1 => rawdoc! { "_id": index },
            2 => rawdoc! { "_id": index as f64 + 0.5 },
            3 => rawdoc! { "_id": format!("key-{index:06}") },
            4 => rawdoc! { "_id": { "tenant": index % 7, "key": format!("k{index}") } },
            _ => rawdoc! { "_id": ObjectId::new() },
        })
        .collect();
    let mut group = criterion.benchmark_group("compare_values_id");
    for (label, documents) in [("object_ids", &generated), ("mixed_types", &mixed)] {
        let ids: Vec<RawBsonRef<'_>> = documents
            .iter()
            .map(|document| document.get("_id").unwrap().expect("every document has an _id"))
            .collect();
        group.throughput(Throughput::Elements(ids.len() as u64 - 1));
        group.bench_function(label, |bencher| {
            bencher.iter(|| {
                ids.windows(2)
                    .map(|pair| compare_values(black_box(pair[0]), black_box(pair[1])) as i8 as i64)
                    .sum::<i64>()
            })
        });
    }
    group.finish();
}

fn bson_stream(criterion: &mut Criterion) {
    let plan = plan();
    let capabilities = Capabilities::ferretdb(true);
    // A `.bson` file as a dump writes it: documents back to back.
    let mut file = Vec::new();
    let mut count = 0u64;
    for (collection, _) in plan.counts() {
        for document in documents(&plan, collection, &capabilities).take(BATCH / 4) {
            file.extend_from_slice(document.as_bytes());
            count += 1;
        }
    }
    let mut group = criterion.benchmark_group("bson_stream");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.bench_function(format!("{count}_documents_in_memory"), |bencher| {
        bencher.iter(|| {
            let mut stream = BsonStream::new(black_box(file.as_slice()), Origin::default());
            let mut read = 0u64;
            while let Some(streamed) = stream.next_document().unwrap() {
                read += streamed.document.as_bytes().len() as u64;
            }
            read
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = md5_digest, generate, id_order, bson_stream
}
criterion_main!(benches);
