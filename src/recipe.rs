//! How a network is trained: our recipe, or the reference post's own experiment
//! reproduced (`train --recipe reference`) and its budget with balanced pairs
//! (`--recipe balanced`); and the learning curve every run records.
//!
//! The post trained its 2-D network on 1,000 random MNIST training images turned
//! into 8,000 pairs, each of two random images — so about nine in ten are
//! "different" — for 20 epochs with a small batch, and found it converged badly.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, PairBatch, Rng};
use crate::metrics;
use crate::model::SiameseNetwork;
use crate::train::{Batch, Trainer};

/// Which way to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipe {
    /// Balanced pairs drawn afresh every step, augmented, cosine-decayed learning rate.
    Ours,
    /// The post's: a fixed list of naive pairs from 1,000 images, 20 epochs.
    Reference,
    /// The post's budget, but half of the pairs "same".
    Balanced,
}

impl Recipe {
    pub fn name(self) -> &'static str {
        match self {
            Recipe::Ours => "ours",
            Recipe::Reference => "reference",
            Recipe::Balanced => "balanced",
        }
    }
}

impl std::str::FromStr for Recipe {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ours" => Ok(Recipe::Ours),
            "reference" => Ok(Recipe::Reference),
            "balanced" => Ok(Recipe::Balanced),
            other => Err(format!("unknown recipe `{other}` (expected `ours`, `reference` or `balanced`)")),
        }
    }
}

/// The post's budget: images, pairs, epochs, and its small batch.
pub const POST_IMAGES: usize = 1_000;
pub const POST_PAIRS: usize = 8_000;
pub const POST_EPOCHS: usize = 20;
pub const POST_BATCH: usize = 32;
/// The margin of the PyTorch contrastive loss such posts copy (`margin=2.0`), and
/// Adam's rate there, held constant.
pub const POST_MARGIN: f32 = 2.0;
pub const POST_LEARNING_RATE: f64 = 5e-4;

/// The post's training pairs, as `(i, j, same)` indices into `set`: `pairs` pairs of
/// `images` random distinct images (seeded). Naive: both members at random, so the
/// labels fall as the digits do (about 1 in 10 "same"); balanced: every other pair
/// "same", its partner drawn from the same digit among the chosen images.
pub fn post_pairs(set: &Dataset, images: usize, pairs: usize, balanced: bool, seed: u64) -> Vec<(usize, usize, bool)> {
    let mut rng = Rng::new(seed);
    let mut chosen: Vec<usize> = (0..set.len()).collect();
    for k in 0..images.min(set.len()) {
        let j = k + rng.below(set.len() - k);
        chosen.swap(k, j);
    }
    chosen.truncate(images.min(set.len()));
    let mut by_digit: Vec<Vec<usize>> = vec![Vec::new(); 10];
    for &i in &chosen {
        by_digit[set.labels[i] as usize].push(i);
    }
    (0..pairs)
        .map(|k| {
            let i = *rng.pick(&chosen);
            let label = set.labels[i] as usize;
            let j = match (balanced, k % 2 == 0) {
                (true, true) => *rng.pick(&by_digit[label]),
                (true, false) => loop {
                    let j = *rng.pick(&chosen);
                    if set.labels[j] as usize != label {
                        break j;
                    }
                },
                (false, _) => *rng.pick(&chosen),
            };
            (i, j, set.labels[i] == set.labels[j])
        })
        .collect()
}

/// One epoch of a run: the mean training loss, and the validation pairs' accuracy
/// (at the best threshold on them, as the threshold is calibrated only at the end)
/// and ROC AUC.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Epoch {
    pub epoch: usize,
    pub loss: f32,
    pub accuracy: f64,
    pub auc: f64,
}

/// The validation figures of `model` on `val` (the evaluation protocol's pairs).
pub fn validate(model: &SiameseNetwork, val: &Dataset, seed: u64, device: &burn::tensor::Device) -> (f64, f64) {
    let (distances, same) = metrics::protocol_distances(model, val, usize::MAX, seed, device);
    (metrics::best_threshold(&distances, &same).1, metrics::roc_auc(&distances, &same))
}

/// Train on a fixed pair list for `epochs` epochs, shuffled each epoch, in batches
/// of the trainer's batch size at its learning rate, held constant (the post's loop);
/// `epoch_done` is told each epoch's mean loss and returns its [`Epoch`].
pub fn fit_pairs(
    trainer: &mut Trainer,
    set: &Dataset,
    pairs: &[(usize, usize, bool)],
    epochs: usize,
    mut epoch_done: impl FnMut(&Trainer, usize, f32) -> Epoch,
) -> Result<Vec<Epoch>, String> {
    let (batch, learning_rate, seed) = (trainer.config.batch_size, trainer.config.learning_rate, trainer.config.seed);
    let mut rng = Rng::new(seed ^ 0xe90c);
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    let mut curve = Vec::with_capacity(epochs);
    for epoch in 1..=epochs {
        for k in (1..order.len()).rev() {
            order.swap(k, rng.below(k + 1));
        }
        let mut losses = Vec::new();
        for chunk in order.chunks(batch) {
            let mut b = PairBatch::default();
            for &p in chunk {
                let (i, j, same) = pairs[p];
                b.first.extend_from_slice(set.image(i));
                b.second.extend_from_slice(set.image(j));
                b.same.push(same);
            }
            let taken = trainer.step(&Batch::Pairs(b), learning_rate);
            let values = taken.values.to_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
            losses.push(trainer.settle(taken, &values).map_err(|e| format!("epoch {epoch}: {e}"))?);
        }
        let mean = losses.iter().sum::<f32>() / losses.len().max(1) as f32;
        curve.push(epoch_done(trainer, epoch, mean));
    }
    Ok(curve)
}

/// A chart panel's size, in SVG pixels.
const W: f64 = 300.0;
const H: f64 = 180.0;

/// A panel's frame in its own coordinates: the box, its heading, the y axis's top and
/// bottom labels, and epochs from 1 to `epochs` along the bottom.
fn panel(heading: &str, top: &str, bottom: &str, epochs: usize) -> String {
    format!(
        r##"<rect width="{W}" height="{H}" fill="none" stroke="#888"/>
<text x="{}" y="-6" text-anchor="middle">{heading}</text><text x="-4" y="10" text-anchor="end">{top}</text><text x="-4" y="{H}" text-anchor="end">{bottom}</text>
<text x="0" y="{}" text-anchor="middle">1</text><text x="{W}" y="{}" text-anchor="middle">{epochs}</text><text x="{}" y="{}" text-anchor="middle">epoch</text>"##,
        W / 2.0,
        H + 14.0,
        H + 14.0,
        W / 2.0,
        H + 28.0
    )
}

/// A learning curve as a picture: training loss on the left, validation accuracy and
/// AUC on the right, one point per epoch. Plain SVG, no plotting tool.
pub fn curve_svg(title: &str, curve: &[Epoch]) -> String {
    let n = curve.len().max(2) as f64;
    let max_loss = curve.iter().map(|e| e.loss as f64).fold(0.0, f64::max).max(1e-6);
    // Panel-local coordinates: x by epoch (1 at the left edge), y from the top.
    let x = |epoch: usize| (epoch as f64 - 1.0) / (n - 1.0) * W;
    let y_loss = |v: f64| H - v / max_loss * H;
    let y_rate = |v: f64| H - (v.clamp(0.5, 1.0) - 0.5) / 0.5 * H;
    let line = |f: &dyn Fn(&Epoch) -> (f64, f64)| {
        curve.iter().map(|e| { let (a, b) = f(e); format!("{a:.1},{b:.1}") }).collect::<Vec<_>>().join(" ")
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 720 260" width="720" height="260" font-family="sans-serif" font-size="12">
<rect width="720" height="260" fill="#fff"/>
<text x="360" y="18" text-anchor="middle" font-size="14">{}</text>
"##,
        escape(title)
    );
    for (left, heading, top, bottom) in [(50.0, "training loss", format!("{max_loss:.3}"), "0"), (400.0, "validation pairs", "1.0".to_string(), "0.5")] {
        let _ = writeln!(svg, r##"<g transform="translate({left},40)">{}</g>"##, panel(heading, &top, bottom, curve.len()));
    }
    let _ = write!(
        svg,
        r##"<g transform="translate(50,40)"><polyline data-series="loss" fill="none" stroke="#c53030" stroke-width="2" points="{}"/></g>
<g transform="translate(400,40)"><polyline data-series="accuracy" fill="none" stroke="#2b6cb0" stroke-width="2" points="{}"/><polyline data-series="auc" fill="none" stroke="#2f855a" stroke-width="2" stroke-dasharray="5 3" points="{}"/>
<text x="8" y="{}" fill="#2b6cb0">accuracy</text><text x="8" y="{}" fill="#2f855a">AUC</text></g>
</svg>
"##,
        line(&|e| (x(e.epoch), y_loss(e.loss as f64))),
        line(&|e| (x(e.epoch), y_rate(e.accuracy))),
        line(&|e| (x(e.epoch), y_rate(e.auc))),
        H - 22.0,
        H - 8.0
    );
    svg
}

/// Several runs' learning curves in one picture, to compare: validation accuracy on
/// the left, validation AUC on the right, one line per run (`(name, curve)`) on
/// shared axes (0.5 to 1, epochs from 1 to the last run's last). Their losses are
/// left out: each recipe has its own margin, so their scales differ.
pub fn runs_svg(runs: &[(String, Vec<Epoch>)]) -> String {
    const COLOURS: [&str; 4] = ["#c53030", "#2b6cb0", "#2f855a", "#6b46c1"];
    let epochs = runs.iter().flat_map(|(_, c)| c.iter().map(|e| e.epoch)).max().unwrap_or(0).max(2);
    let x = |epoch: usize| (epoch as f64 - 1.0) / (epochs as f64 - 1.0) * W;
    let y = |v: f64| H - (v.clamp(0.5, 1.0) - 0.5) / 0.5 * H;
    let height = 250.0 + 16.0 * runs.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 720 {height}" width="720" height="{height}" font-family="sans-serif" font-size="12">
<rect width="720" height="{height}" fill="#fff"/>
"##
    );
    for (left, heading, pick) in [(50.0, "validation accuracy", (|e: &Epoch| e.accuracy) as fn(&Epoch) -> f64), (400.0, "validation AUC", |e: &Epoch| e.auc)] {
        let _ = writeln!(svg, r##"<g transform="translate({left},20)">{}"##, panel(heading, "1.0", "0.5", epochs));
        for (k, (name, curve)) in runs.iter().enumerate() {
            let points = curve.iter().map(|e| format!("{:.1},{:.1}", x(e.epoch), y(pick(e)))).collect::<Vec<_>>().join(" ");
            let _ = writeln!(svg, r##"<polyline data-run="{}" fill="none" stroke="{}" stroke-width="2" points="{points}"/>"##, escape(name), COLOURS[k % COLOURS.len()]);
        }
        svg.push_str("</g>\n");
    }
    for (k, (name, _)) in runs.iter().enumerate() {
        let top = 245.0 + 16.0 * k as f64;
        let _ = writeln!(
            svg,
            r##"<line x1="50" y1="{}" x2="74" y2="{}" stroke="{}" stroke-width="2"/><text x="80" y="{top}">{}</text>"##,
            top - 4.0,
            top - 4.0,
            COLOURS[k % COLOURS.len()],
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IMAGE_PIXELS;

    fn digits(n: usize) -> Dataset {
        let mut set = Dataset::default();
        for i in 0..n {
            set.push(&[0.0; IMAGE_PIXELS], (i % 10) as u8);
        }
        set
    }

    #[test]
    fn runs_share_axes_each_line_inside_its_panel() {
        let run = |n: usize, base: f64| (1..=n).map(|epoch| Epoch { epoch, loss: 1.0, accuracy: base + 0.01 * epoch as f64, auc: 0.4 + 0.05 * epoch as f64 }).collect();
        let svg = runs_svg(&[("reference".into(), run(20, 0.6)), ("a \"b\" <c>".into(), run(30, 0.7))]);
        let lines: Vec<(&str, Vec<(f64, f64)>)> = svg
            .lines()
            .filter(|l| l.starts_with("<polyline"))
            .map(|l| {
                let run = l.split("data-run=\"").nth(1).unwrap().split('"').next().unwrap();
                let points = l.split("points=\"").nth(1).unwrap().split('"').next().unwrap();
                (run, points.split(' ').map(|p| { let (x, y) = p.split_once(',').unwrap(); (x.parse().unwrap(), y.parse().unwrap()) }).collect())
            })
            .collect();
        // One line per run in each panel, the name escaped.
        let names: Vec<&str> = lines.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["reference", "a &quot;b&quot; &lt;c&gt;", "reference", "a &quot;b&quot; &lt;c&gt;"]);
        assert!(svg.contains(">a &quot;b&quot; &lt;c&gt;</text>"), "the legend names each run");
        for (_, points) in &lines {
            assert!(points.iter().all(|&(x, y)| (0.0..=300.0).contains(&x) && (0.0..=180.0).contains(&y)));
            assert_eq!(points[0].0, 0.0, "epoch 1 at the left edge");
        }
        // Shared axes: the 30-epoch run spans the panel, the 20-epoch one 19/29 of it.
        assert_eq!(lines[1].1.last().unwrap().0, 300.0);
        assert!((lines[0].1.last().unwrap().0 - 300.0 * 19.0 / 29.0).abs() < 0.06);
        // Accuracy 0.6 + 0.01 × 1 sits at (0.61 − 0.5) / 0.5 of the height; AUC below 0.5 on the floor.
        assert!((lines[0].1[0].1 - (180.0 - 0.22 * 180.0)).abs() < 0.06);
        assert_eq!(lines[2].1[0].1, 180.0);
    }

    #[test]
    fn naive_pairs_are_mostly_different_and_balanced_ones_half_same() {
        let set = digits(5_000);
        let share = |balanced| {
            let pairs = post_pairs(&set, POST_IMAGES, POST_PAIRS, balanced, 3);
            assert_eq!(pairs.len(), POST_PAIRS);
            assert!(pairs.iter().all(|&(i, j, s)| s == (set.labels[i] == set.labels[j])));
            pairs.iter().filter(|p| p.2).count() as f64 / POST_PAIRS as f64
        };
        let naive = share(false);
        assert!((0.08..0.12).contains(&naive), "naive pairs {naive} same, expected about 1 in 10");
        assert!(share(true) >= 0.5, "balanced pairs: every other pair is same");
    }

    #[test]
    fn the_pairs_use_only_the_chosen_images() {
        let set = digits(5_000);
        let pairs = post_pairs(&set, 40, 2_000, true, 1);
        let mut used: Vec<usize> = pairs.iter().flat_map(|&(i, j, _)| [i, j]).collect();
        used.sort();
        used.dedup();
        assert!(used.len() <= 40, "{} images used", used.len());
    }

    #[test]
    fn the_posts_loop_trains_epoch_by_epoch_on_its_pair_list() {
        use crate::backend::cpu;
        use crate::model::{EncoderConfig, Preset, SiameseNetwork};
        use crate::train::TrainConfig;
        // Two easy "digits": a bright left half (0) or right half (1).
        let mut set = Dataset::default();
        for i in 0..40 {
            let image: Vec<f32> = (0..IMAGE_PIXELS).map(|p| if (p % 28 < 14) == (i % 2 == 0) { 0.8 } else { 0.0 }).collect();
            set.push(&image, (i % 2) as u8);
        }
        let device = cpu();
        device.seed(4);
        let model = SiameseNetwork::new(&EncoderConfig::preset(Preset::Default), &device);
        let config = TrainConfig::new().with_batch_size(8).with_learning_rate(3e-3).with_augment(false);
        let mut trainer = Trainer::new(model, config, &device);
        let pairs = post_pairs(&set, 20, 32, true, 0);
        let mut seen = Vec::new();
        let curve = fit_pairs(&mut trainer, &set, &pairs, 3, |_, epoch, loss| {
            seen.push(epoch);
            Epoch { epoch, loss, accuracy: 0.5, auc: 0.5 }
        })
        .unwrap();
        assert_eq!(seen, vec![1, 2, 3]);
        assert!(curve[2].loss < curve[0].loss, "epoch losses {:?}", curve.iter().map(|e| e.loss).collect::<Vec<_>>());
    }

    #[test]
    fn the_curve_is_drawn_to_scale() {
        let e = |epoch, loss, accuracy, auc| Epoch { epoch, loss, accuracy, auc };
        let svg = curve_svg("a <b>", &[e(1, 2.0, 0.5, 0.75), e(2, 1.0, 1.0, 1.0), e(3, 0.5, 0.9, 0.95)]);
        // Loss 2 is the top of its panel (y 0) at epoch 1 (x 0); 1 is half way down at the middle.
        assert!(svg.contains(r##"data-series="loss" fill="none" stroke="#c53030" stroke-width="2" points="0.0,0.0 150.0,90.0 300.0,135.0""##), "{svg}");
        // Accuracy 0.5 is the bottom (y 180), 1.0 the top; AUC 0.75 is half way.
        assert!(svg.contains(r#"points="0.0,180.0 150.0,0.0 300.0,36.0""#), "{svg}");
        assert!(svg.contains(r#"points="0.0,90.0 150.0,0.0 300.0,18.0""#), "{svg}");
        assert!(svg.contains("a &lt;b&gt;"));
    }
}
