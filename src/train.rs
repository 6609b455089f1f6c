//! The training step — one for the command line and the browser — and the native loop.

use burn::config::Config;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::data::{Dataset, PairBatch, Sampler, TripletBatch};
use crate::distance::euclidean_matrix;
use crate::loss::{ContrastiveLoss, ContrastiveLossConfig, TripletLoss, TripletLossConfig};
use crate::model::{Encoder, IMAGE_PIXELS, IMAGE_SIDE, SiameseNetwork};

/// Which loss to train with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    Contrastive,
    Triplet,
}

impl LossKind {
    /// The margin this loss trains with unless told otherwise: its config's default, so
    /// the number is written once. Contrastive, 1.0: every shipped model was trained
    /// with it; on the unit sphere (distances in [0, 2]) it asks different digits to
    /// be half the diameter apart, which 10 digits in 32 dimensions can all be.
    /// Triplet, 0.5: its margin is a gap between a different-digit and a same-digit
    /// distance, not a distance, so it is asked smaller (the README's triplet run).
    pub fn default_margin(self) -> f32 {
        match self {
            LossKind::Contrastive => ContrastiveLossConfig::new().margin,
            LossKind::Triplet => TripletLossConfig::new().margin,
        }
    }
}

impl std::str::FromStr for LossKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "contrastive" => Ok(Self::Contrastive),
            "triplet" => Ok(Self::Triplet),
            other => Err(format!("unknown loss `{other}` (expected `contrastive` or `triplet`)")),
        }
    }
}

/// Hyper-parameters of a training run.
#[derive(Config, Debug)]
pub struct TrainConfig {
    #[config(default = "LossKind::Contrastive")]
    pub loss: LossKind,
    /// Contrastive margin m, or triplet margin α (the default loss's
    /// [`LossKind::default_margin`]; set it with the loss).
    #[config(default = 1.0)]
    pub margin: f32,
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Pairs (or triplets) per step.
    #[config(default = 128)]
    pub batch_size: usize,
    #[config(default = 0)]
    pub seed: u64,
    /// Triplet loss only: each anchor's negative is the closest other-digit
    /// negative in the batch rather than the one drawn with it.
    #[config(default = false)]
    pub hard_negatives: bool,
    #[config(default = true)]
    pub augment: bool,
    /// With `augment`: the share of digits shown traced and inked as drawn strokes.
    #[config(default = 0.5)]
    pub drawn: f32,
    /// Train only the fully connected layers (see [`crate::model::Encoder::freeze_features`]).
    #[config(default = false)]
    pub freeze_features: bool,
}

/// One batch, as the chosen loss needs it. An [`Episode`] trains with the
/// prototypical loss whatever the configured loss: it is the background set's batch,
/// native only (the page never makes one, and its kernels would cost the wasm ~14 KB).
#[derive(Debug)]
pub enum Batch {
    Pairs(PairBatch),
    Triplets(TripletBatch),
    #[cfg(not(target_arch = "wasm32"))]
    Episode(Episode),
}

/// `classes` classes with `shots` drawings each, class after class (`[classes · shots, 784]`
/// flattened); the first half of each class's drawings are its support, the rest its queries.
#[derive(Debug)]
pub struct Episode {
    pub images: Vec<f32>,
    pub classes: usize,
    pub shots: usize,
    /// The loss is multiplied by this: how much an episode counts against the pair
    /// batches it alternates with (they share one Adam state). In the README's trials,
    /// 0.1 kept digit pairs at 99.01 % where 1 let them fall to 98.32 %.
    pub weight: f32,
}

impl Batch {
    /// Draw a batch of `n` for `loss` from `set`.
    pub fn sample(sampler: &mut Sampler, set: &Dataset, loss: LossKind, n: usize) -> Self {
        match loss {
            LossKind::Contrastive => Batch::Pairs(sampler.pairs(set, n)),
            LossKind::Triplet => Batch::Triplets(sampler.triplets(set, n)),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Batch::Pairs(p) => p.same.len(),
            Batch::Triplets(t) => t.anchor_labels.len(),
            #[cfg(not(target_arch = "wasm32"))]
            Batch::Episode(e) => e.classes * e.shots,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn images(flat: &[f32], device: &Device) -> Tensor<4> {
    let n = flat.len() / IMAGE_PIXELS;
    Tensor::from_data(TensorData::new(flat.to_vec(), [n, 1, IMAGE_SIDE, IMAGE_SIDE]), device)
}

enum Objective {
    Contrastive(ContrastiveLoss),
    Triplet { loss: TripletLoss, hard_negatives: bool },
}

/// A model, its optimiser and its loss. [`Trainer::step`] never reads a tensor
/// back, so the same code runs on WebGPU, where reads are asynchronous.
pub struct Trainer {
    pub model: SiameseNetwork,
    /// With frozen convolutions: an inference copy of the encoder whose convolution
    /// stages run without autodiff (no graph to record, nothing to differentiate).
    frozen: Option<Encoder>,
    optim: ModuleOptimizer,
    objective: Objective,
    pub config: TrainConfig,
    device: Device,
}

/// The state before a step, to roll back to if the step's loss is not finite.
struct Snapshot {
    model: SiameseNetwork,
    optim: ModuleOptimizer,
}

/// A step taken but not yet judged: read [`Step::values`] (synchronously or not)
/// and hand them to [`Trainer::settle`].
pub struct Step {
    /// `[loss, Σw² over the weights after the update]`, shape `[2]`.
    pub values: Tensor<1>,
    snapshot: Snapshot,
}

/// Σw² over every parameter: non-finite as soon as one weight is, or as soon as an
/// absurd learning rate throws the weights to ~1e19 and beyond.
struct WeightSum(Vec<Tensor<1>>);

impl burn::module::ModuleVisitor for WeightSum {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        self.0.push(param.val().square().sum());
    }
}

impl Trainer {
    /// `model` is moved to `device` with autodiff enabled.
    pub fn new(model: SiameseNetwork, config: TrainConfig, device: &Device) -> Self {
        let device = device.clone().autodiff();
        let objective = match config.loss {
            LossKind::Contrastive => Objective::Contrastive(ContrastiveLossConfig::new().with_margin(config.margin).init()),
            LossKind::Triplet => Objective::Triplet {
                loss: TripletLossConfig::new().with_margin(config.margin).init(),
                hard_negatives: config.hard_negatives,
            },
        };
        let frozen = config.freeze_features.then(|| model.encoder.clone().to_device(&device.clone().inner()));
        let mut model = model.to_device(&device).train();
        if config.freeze_features {
            model.encoder = model.encoder.freeze_features();
        }
        Self {
            model,
            frozen,
            optim: AdamConfig::new().init(),
            objective,
            config,
            device,
        }
    }

    /// One Adam step on `batch` at `learning_rate`. The loss is the batch's before the update.
    pub fn step(&mut self, batch: &Batch, learning_rate: f64) -> Step {
        let loss = match (&self.objective, batch) {
            (Objective::Contrastive(loss), Batch::Pairs(p)) => {
                let [e1, e2] = self.embed_together([&p.first, &p.second]);
                let same = Tensor::<1, Bool>::from_data(TensorData::new(p.same.clone(), [p.same.len()]), &self.device);
                loss.forward(e1, e2, same)
            }
            (Objective::Triplet { loss, hard_negatives }, Batch::Triplets(t)) => {
                let [anchor, positive, mut negative] = self.embed_together([&t.anchor, &t.positive, &t.negative]);
                if *hard_negatives {
                    negative = hardest_negatives(anchor.clone(), negative, &t.anchor_labels, &t.negative_labels);
                }
                loss.forward(anchor, positive, negative)
            }
            #[cfg(not(target_arch = "wasm32"))]
            (_, Batch::Episode(e)) => {
                assert!(e.shots >= 2, "an episode needs a support and a query drawing per class");
                let [all] = self.embed_together([&e.images]);
                let [_, dim] = all.dims();
                let all = all.reshape([e.classes, e.shots, dim]);
                let support = e.shots / 2;
                let loss = crate::loss::PrototypicalLossConfig::new().init();
                loss.forward(all.clone().narrow(1, 0, support), all.narrow(1, support, e.shots - support)).mul_scalar(e.weight)
            }
            _ => panic!("the batch does not match the loss: contrastive takes pairs, triplet takes triplets"),
        };
        let snapshot = Snapshot { model: self.model.clone(), optim: self.optim.clone() };
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optim.step(learning_rate, self.model.clone(), grads);
        let mut sum = WeightSum(Vec::new());
        self.model.visit(&mut sum);
        let weights = Tensor::cat(sum.0, 0).sum().detach();
        Step { values: Tensor::cat(vec![loss.detach(), weights], 0), snapshot }
    }

    /// The embeddings of `N` image sets (flattened `[n, 784]` each) through the shared
    /// encoder in one batch, split back in order: one pass instead of `N`.
    fn embed_together<const N: usize>(&self, sets: [&[f32]; N]) -> [Tensor<2>; N] {
        let sizes: Vec<usize> = sets.iter().map(|s| s.len() / IMAGE_PIXELS).collect();
        let all = sets.concat();
        let embedded = match &self.frozen {
            Some(frozen) => {
                let features = frozen.features(images(&all, &self.device.clone().inner())); // [n, c, s, s], no autodiff
                self.model.encoder.head(features.autodiff())
            }
            None => self.model.embed(images(&all, &self.device)),
        }; // [Σ sizes, embedding]
        let parts = embedded.split_with_sizes(sizes, 0);
        parts.try_into().unwrap_or_else(|_| unreachable!("one part per set"))
    }

    /// Judge a step from its read-back `values`: if the loss or any weight is not
    /// finite, undo the step (weights and optimiser state) and say so.
    pub fn settle(&mut self, step: Step, values: &[f32]) -> Result<f32, String> {
        match values {
            [loss, weights] if loss.is_finite() && weights.is_finite() => Ok(*loss),
            _ => {
                self.model = step.snapshot.model;
                self.optim = step.snapshot.optim;
                Err(format!(
                    "the training step diverged (loss {}); it was undone — lower the learning rate",
                    values.first().copied().unwrap_or(f32::NAN)
                ))
            }
        }
    }

    /// The model for inference: no autodiff, no dropout.
    pub fn inference_model(&self) -> SiameseNetwork {
        self.model.valid()
    }
}

/// For each anchor, the nearest negative in the batch whose digit differs from the anchor's.
///
/// # Shapes
///
/// - anchor: `[batch, embedding]`, negative: `[negatives, embedding]`
/// - output: `[batch, embedding]`
fn hardest_negatives(anchor: Tensor<2>, negative: Tensor<2>, anchor_labels: &[u8], negative_labels: &[u8]) -> Tensor<2> {
    let distances = euclidean_matrix(anchor.detach(), negative.clone().detach()); // [batch, negatives]
    let same_digit: Vec<bool> = anchor_labels.iter().flat_map(|a| negative_labels.iter().map(move |b| a == b)).collect();
    let shape = [anchor_labels.len(), negative_labels.len()];
    let mask = Tensor::<2, Bool>::from_data(TensorData::new(same_digit, shape), &negative.device());
    let index: Tensor<1, Int> = distances.mask_fill(mask, f32::INFINITY).argmin(1).squeeze_dim(1); // [batch]
    negative.select(0, index)
}

/// Progress of the native loop, reported after every step.
pub struct Progress {
    pub step: usize,
    pub steps: usize,
    pub loss: f32,
    pub pairs: usize,
}

/// Train for `steps` steps with a cosine-decaying learning rate. Reads every loss
/// back synchronously: a native / CPU loop (the browser drives [`Trainer::step`] itself).
pub fn fit(trainer: &mut Trainer, set: &Dataset, steps: usize, report: impl FnMut(Progress, &Trainer)) -> Result<(), String> {
    let config = trainer.config.clone();
    let mut sampler = digit_sampler(set, &config)?;
    fit_with(trainer, steps, |n| Batch::sample(&mut sampler, set, config.loss, n), report)
}

/// The sampler of `set`'s digits that `config` asks for (augmented, part of them as strokes).
pub fn digit_sampler(set: &Dataset, config: &TrainConfig) -> Result<Sampler, String> {
    let sampler = Sampler::new(set, config.seed, config.augment).map_err(|e| e.to_string())?;
    Ok(if config.augment { sampler.with_strokes(set, config.drawn) } else { sampler })
}

/// [`fit`] with batches of `n` from `batches(n)` (the background mixture, say).
/// `report` also sees the trainer after each step (to validate it now and then).
pub fn fit_with(
    trainer: &mut Trainer,
    steps: usize,
    mut batches: impl FnMut(usize) -> Batch,
    mut report: impl FnMut(Progress, &Trainer),
) -> Result<(), String> {
    let config = trainer.config.clone();
    for step in 0..steps {
        let progress = step as f64 / steps as f64;
        let lr = config.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        let batch = batches(config.batch_size);
        let taken = trainer.step(&batch, lr);
        let values = taken.values.to_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
        let loss = trainer.settle(taken, &values).map_err(|e| format!("step {}: {e}", step + 1))?;
        report(Progress { step: step + 1, steps, loss, pairs: (step + 1) * config.batch_size }, trainer);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::model::{EncoderConfig, Preset};

    /// Two easy "digits": a bright left half vs. a bright right half, with noise.
    fn halves(n: usize) -> Dataset {
        let mut set = Dataset::default();
        let mut rng = crate::data::Rng::new(9);
        for i in 0..n {
            let label = (i % 2) as u8;
            let image: Vec<f32> = (0..IMAGE_PIXELS)
                .map(|p| {
                    let left = p % IMAGE_SIDE < IMAGE_SIDE / 2;
                    let on = if label == 0 { left } else { !left };
                    (if on { 0.8 } else { 0.0 }) + rng.uniform(0.0, 0.2)
                })
                .collect();
            set.push(&image, label);
        }
        set
    }

    fn mean_loss(loss: LossKind, hard_negatives: bool) -> (f32, f32) {
        let device = cpu();
        device.seed(1);
        let set = halves(40);
        let model = SiameseNetwork::new(&EncoderConfig::preset(Preset::Default), &device);
        let config = TrainConfig::new().with_loss(loss).with_margin(loss.default_margin())
            .with_batch_size(16).with_augment(false).with_hard_negatives(hard_negatives).with_learning_rate(3e-3);
        let mut trainer = Trainer::new(model, config, &device);
        let mut losses = Vec::new();
        fit(&mut trainer, &set, 30, |p, _| losses.push(p.loss)).unwrap();
        let first: f32 = losses[..5].iter().sum::<f32>() / 5.0;
        let last: f32 = losses[25..].iter().sum::<f32>() / 5.0;
        (first, last)
    }

    /// An episode of `set`'s first two classes, four drawings each, starting at drawing `from`.
    fn two_class_episode(set: &Dataset, from: usize, weight: f32) -> Batch {
        let images = set.by_class()[..2].iter().flat_map(|c| (0..4).flat_map(|k| set.image(c[(from + k) % c.len()]).to_vec())).collect();
        Batch::Episode(Episode { images, classes: 2, shots: 4, weight })
    }

    #[test]
    fn episodes_train_with_the_prototypical_loss_and_lower_it() {
        let device = cpu();
        device.seed(2);
        let set = halves(40);
        let model = SiameseNetwork::new(&EncoderConfig::preset(Preset::Default), &device);
        let config = TrainConfig::new().with_augment(false).with_learning_rate(3e-3);
        let mut trainer = Trainer::new(model, config, &device);
        let mut losses = Vec::new();
        for step in 0..20 {
            // Two classes, four drawings each (two support, two queries), a different four each step.
            let batch = two_class_episode(&set, step, 1.0);
            assert_eq!(batch.len(), 8);
            let taken = trainer.step(&batch, 3e-3);
            let values = taken.values.to_data().try_to_vec::<f32>().unwrap();
            losses.push(trainer.settle(taken, &values).unwrap());
        }
        let (first, last) = (losses[..3].iter().sum::<f32>() / 3.0, losses[17..].iter().sum::<f32>() / 3.0);
        assert!(last < 0.5 * first, "prototypical loss {first} → {last}");
    }

    #[test]
    fn an_episode_s_weight_scales_its_loss() {
        let device = cpu();
        device.seed(3);
        let set = halves(8);
        let model = SiameseNetwork::new(&EncoderConfig::preset(Preset::Default), &device);
        let loss = |weight: f32| {
            let mut trainer = Trainer::new(model.clone(), TrainConfig::new().with_augment(false), &device);
            let batch = two_class_episode(&set, 0, weight);
            let taken = trainer.step(&batch, 1e-3);
            taken.values.to_data().try_to_vec::<f32>().unwrap()[0]
        };
        let (full, quarter) = (loss(1.0), loss(0.25));
        assert!(full > 0.01, "an untrained episode has a loss ({full})");
        assert!((quarter - 0.25 * full).abs() < 1e-5 * full.max(1.0), "weight 0.25: {quarter} against {full}");
    }

    #[test]
    fn contrastive_training_lowers_the_loss() {
        let (first, last) = mean_loss(LossKind::Contrastive, false);
        assert!(last < first * 0.5, "loss went from {first} to {last}");
    }

    #[test]
    fn triplet_training_with_hard_negatives_lowers_the_loss() {
        let (first, last) = mean_loss(LossKind::Triplet, true);
        assert!(last < first * 0.5, "loss went from {first} to {last}");
    }

    #[test]
    fn the_default_margins_are_the_loss_configs_and_the_train_config_default() {
        assert_eq!(LossKind::Contrastive.default_margin(), 1.0);
        assert_eq!(LossKind::Triplet.default_margin(), 0.5);
        let config = TrainConfig::new();
        assert_eq!(config.margin, config.loss.default_margin());
    }

    #[test]
    fn hardest_negative_is_the_nearest_other_digit() {
        let device = cpu();
        let anchor = Tensor::<2>::from_floats([[0.0, 0.0], [10.0, 0.0]], &device);
        let negative = Tensor::<2>::from_floats([[1.0, 0.0], [9.0, 0.0], [5.0, 0.0]], &device);
        // Anchor 0 (digit 1) may not take negative 0 (digit 1): nearest allowed is [5, 0].
        let picked = hardest_negatives(anchor, negative, &[1, 2], &[1, 3, 4]);
        assert_eq!(picked.into_data().try_to_vec::<f32>().unwrap(), vec![5.0, 0.0, 9.0, 0.0]);
    }

    #[test]
    fn a_diverging_step_is_undone() {
        let device = cpu();
        let set = halves(20);
        let model = SiameseNetwork::new(&EncoderConfig::preset(Preset::Default), &device);
        let config = TrainConfig::new().with_batch_size(8).with_augment(false).with_learning_rate(f64::INFINITY);
        let mut trainer = Trainer::new(model, config, &device);
        // Every parameter value, in module order, as the weights file stores them.
        let weights = |trainer: &Trainer| crate::weights::to_bytes(&trainer.model, "default", &EncoderConfig::preset(Preset::Default), 1.0, "");
        let before = weights(&trainer);
        let err = fit(&mut trainer, &set, 5, |_, _| {}).unwrap_err();
        assert!(err.starts_with("step 1: the training step diverged"), "{err}");
        assert!(weights(&trainer) == before, "the weights after the undone step differ from those before it");
    }
}
