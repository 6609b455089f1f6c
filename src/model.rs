//! The shared-weight encoder `f` and the Siamese network that runs it twice.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    Dropout, DropoutConfig, Linear, LinearConfig, LocalResponseNorm, LocalResponseNormConfig,
    PaddingConfig2d,
};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Side of the square images the encoder reads (the MNIST convention).
pub const IMAGE_SIDE: usize = 28;
/// Pixels per image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// One convolution stage: conv → ReLU → optional LRN → max-pool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvStage {
    pub channels: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    /// Local response normalisation over this many channels (the `seed` preset's LRN(5)).
    pub lrn: Option<usize>,
    pub pool: usize,
    pub pool_stride: usize,
}

/// Architecture of the encoder `f`. Build one with [`EncoderConfig::preset`].
#[derive(Config, Debug, PartialEq)]
pub struct EncoderConfig {
    /// Convolution stages, in order.
    pub stages: Vec<ConvStage>,
    /// Drop whole channels after the last stage (PyTorch's `Dropout2d`).
    #[config(default = 0.0)]
    pub channel_dropout: f64,
    /// Widths of the hidden fully connected layers (each followed by ReLU).
    pub hidden: Vec<usize>,
    /// Dropout after the first hidden layer.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Size of the embedding.
    pub embedding: usize,
    /// Project embeddings onto the unit sphere, so distances lie in [0, 2].
    #[config(default = false)]
    pub normalize: bool,
}

/// The named architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Our shipped design: a LeNet-sized encoder with a 32-D unit-norm embedding.
    Default,
    /// The original PyTorch reference network, kept for reproduction.
    Seed,
}

impl Preset {
    pub fn name(self) -> &'static str {
        match self {
            Preset::Default => "default",
            Preset::Seed => "seed",
        }
    }
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "default" => Ok(Preset::Default),
            "seed" => Ok(Preset::Seed),
            other => Err(format!("unknown preset `{other}` (expected `default` or `seed`)")),
        }
    }
}

/// A stage's feature-map side after its convolution and after its pool.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sides {
    conv: u64,
    pooled: u64,
}

/// The product of `factors`, or `None` if it overflows `u64`.
fn product(factors: &[u64]) -> Option<u64> {
    factors.iter().try_fold(1u64, |p, &f| p.checked_mul(f))
}

/// `value` if it was computed without overflow and is at most `max`.
fn within(value: Option<u64>, max: u64) -> Option<u64> {
    value.filter(|&v| v <= max)
}

impl EncoderConfig {
    /// The architecture of a preset.
    pub fn preset(preset: Preset) -> Self {
        match preset {
            // Two 5×5 conv/pool stages (LeNet-like), 24 and 48 channels: wide enough
            // convolutions to tell apart shapes that are not digits (Omniglot's symbols,
            // made-up ones), a small head so the weights stay the size they were with
            // 16/32 channels and a 128-unit layer. ~4.5 MFLOPs per image: still cheap
            // enough to embed on every pointer move.
            Preset::Default => EncoderConfig::new(
                vec![
                    ConvStage { channels: 24, kernel: 5, stride: 1, padding: 0, lrn: None, pool: 2, pool_stride: 2 },
                    ConvStage { channels: 48, kernel: 5, stride: 1, padding: 0, lrn: None, pool: 2, pool_stride: 2 },
                ],
                vec![64],
                32,
            )
            .with_normalize(true),
            // Conv2d(1,128,k5,s3,p2) → ReLU → LRN(5) → MaxPool(4,s2) → Dropout2d(.5)
            // → Linear 2048→512 → ReLU → Dropout(.5) → 512→128 → ReLU → 128→2.
            Preset::Seed => EncoderConfig::new(
                vec![ConvStage { channels: 128, kernel: 5, stride: 3, padding: 2, lrn: Some(5), pool: 4, pool_stride: 2 }],
                vec![512, 128],
                2,
            )
            .with_channel_dropout(0.5)
            .with_dropout(0.5),
        }
    }

    /// Check that this architecture can be built, and at a sane size, before anything
    /// is built from it (a weights file names its own architecture): strides and pools
    /// of at least 1, kernels and pools that fit their input, widths and the parameter
    /// count capped, dropout probabilities in [0, 1), and no size that overflows `usize`.
    pub fn check(&self) -> Result<(), String> {
        self.check_within(usize::MAX as u64)
    }

    /// [`EncoderConfig::check`] with every size, and every sum and product leading to
    /// one, computed without overflow and at most `max`: on wasm32 `usize` has 32 bits
    /// and release builds wrap instead of trapping, so a file could otherwise name a
    /// model whose sizes wrap to small numbers and pass. Tests pass 32-bit limits.
    pub(crate) fn check_within(&self, max: u64) -> Result<(), String> {
        const MAX_STAGES: usize = 4;
        const MAX_CHANNELS: usize = 512;
        const MAX_LAYERS: usize = 4;
        const MAX_WIDTH: usize = 4096;
        const MAX_PARAMS: u64 = 4_000_000;
        if self.stages.len() > MAX_STAGES {
            return Err(format!("{} convolution stages (at most {MAX_STAGES})", self.stages.len()));
        }
        let (mut channels, mut params) = (1u64, 0u64);
        for (n, s) in (1..).zip(&self.stages) {
            if !(1..=MAX_CHANNELS).contains(&s.channels) {
                return Err(format!("stage {n} has {} channels (1‥{MAX_CHANNELS})", s.channels));
            }
            if !(1..=IMAGE_SIDE).contains(&s.stride) || !(1..=IMAGE_SIDE).contains(&s.pool_stride) {
                return Err(format!("stage {n} has stride {} and pool stride {} (each 1‥{IMAGE_SIDE})", s.stride, s.pool_stride));
            }
            if s.padding >= s.kernel.max(1) {
                return Err(format!("stage {n} pads {} px around a {}-px kernel (less than the kernel)", s.padding, s.kernel));
            }
            if s.lrn.is_some_and(|size| !(1..=s.channels).contains(&size)) {
                return Err(format!("stage {n} normalises over {:?} of its {} channels", s.lrn, s.channels));
            }
            let (c, k) = (s.channels as u64, s.kernel as u64);
            let stage = within(product(&[channels, c, k, k]).and_then(|w| w.checked_add(c)), max)
                .ok_or_else(|| format!("stage {n}'s sizes overflow ({channels}×{c}×{k}×{k} weights and {c} biases exceed {max})"))?;
            params = within(params.checked_add(stage), max)
                .ok_or_else(|| format!("stage {n}'s sizes overflow ({params} parameters before it and its {stage} exceed {max})"))?;
            // Capped stage by stage, so no kernel or padding that passes is large
            // enough to make the feature maps huge.
            if params > MAX_PARAMS {
                return Err(format!("stage {n} brings the parameters to {params} (at most {MAX_PARAMS})"));
            }
            channels = c;
        }
        let mut width = self.flat_width(&self.sides(max)?, max)?;
        for (name, p) in [("channel dropout", self.channel_dropout), ("dropout", self.dropout)] {
            if !(0.0..1.0).contains(&p) {
                return Err(format!("{name} {p} (must be in [0, 1))"));
            }
        }
        if self.hidden.len() > MAX_LAYERS {
            return Err(format!("{} hidden layers (at most {MAX_LAYERS})", self.hidden.len()));
        }
        for (n, &h) in (1..).zip(self.hidden.iter().chain(std::iter::once(&self.embedding))) {
            if !(1..=MAX_WIDTH).contains(&h) {
                return Err(format!("a fully connected layer {h} wide (1‥{MAX_WIDTH}; the embedding too)"));
            }
            let h = h as u64;
            params = within(product(&[width, h]).and_then(|w| w.checked_add(h)).and_then(|layer| layer.checked_add(params)), max)
                .ok_or_else(|| format!("fully connected layer {n}'s sizes overflow ({width}×{h} weights, {h} biases and {params} parameters before it exceed {max})"))?;
            width = h;
        }
        if params > MAX_PARAMS {
            return Err(format!("{params} parameters (at most {MAX_PARAMS})"));
        }
        Ok(())
    }

    /// The feature map's side after every stage's convolution and pool, from the
    /// 28-px image: the one place these sizes are computed. A stride of 0, a kernel or
    /// pool larger than its input, or a padded input over `max` is an error naming
    /// the stage (the other sides are smaller than the padded input).
    fn sides(&self, max: u64) -> Result<Vec<Sides>, String> {
        let mut side = IMAGE_SIDE as u64;
        let mut out = Vec::with_capacity(self.stages.len());
        for (n, s) in (1..).zip(&self.stages) {
            let [kernel, stride, padding, pool, pool_stride] = [s.kernel, s.stride, s.padding, s.pool, s.pool_stride].map(|v| v as u64);
            if stride == 0 || pool_stride == 0 {
                return Err(format!("stage {n} has stride {stride} and pool stride {pool_stride} (each at least 1)"));
            }
            let input = within(padding.checked_mul(2).and_then(|p| p.checked_add(side)), max)
                .ok_or_else(|| format!("stage {n}'s sizes overflow ({side} px and 2×{padding} px of padding exceed {max})"))?;
            if !(1..=input).contains(&kernel) {
                return Err(format!("stage {n} has a {kernel}-px kernel for its {input}-px input"));
            }
            let conv = (input - kernel) / stride + 1;
            if !(1..=conv).contains(&pool) {
                return Err(format!("stage {n} pools {pool} px of its {conv}-px feature map"));
            }
            side = (conv - pool) / pool_stride + 1;
            out.push(Sides { conv, pooled: side });
        }
        Ok(out)
    }

    /// Inputs of the first fully connected layer, from the stages' `sides`: the last
    /// stage's channels × its pooled side², at most `max`.
    fn flat_width(&self, sides: &[Sides], max: u64) -> Result<u64, String> {
        let (channels, side) = match (self.stages.last(), sides.last()) {
            (Some(stage), Some(last)) => (stage.channels as u64, last.pooled),
            _ => (1, IMAGE_SIDE as u64),
        };
        within(product(&[channels, side, side]), max)
            .ok_or_else(|| format!("stage {}'s sizes overflow ({channels}×{side}×{side} features exceed {max})", self.stages.len()))
    }

    /// Number of inputs of the first fully connected layer.
    ///
    /// # Panics
    ///
    /// If the stages do not fit the image (see [`EncoderConfig::check`]).
    pub fn flat_features(&self) -> usize {
        let max = usize::MAX as u64;
        let width = self.sides(max).and_then(|sides| self.flat_width(&sides, max)).unwrap_or_else(|e| panic!("{e}"));
        width as usize // at most usize::MAX: exact
    }

    /// Multiply-adds ×2 of one forward pass on one image (convolutions and linear
    /// layers). In `u64`: a model that passes [`EncoderConfig::check`] can need more
    /// than a wasm32 `usize` holds; for one it refuses, the count saturates rather
    /// than wraps.
    ///
    /// # Panics
    ///
    /// If the stages do not fit the image (see [`EncoderConfig::check`]).
    pub fn flops_per_image(&self) -> u64 {
        let sides = self.sides(u64::MAX).unwrap_or_else(|e| panic!("{e}"));
        let (mut flops, mut channels) = (0u64, 1u64);
        for (s, side) in self.stages.iter().zip(&sides) {
            let (c, k) = (s.channels as u64, s.kernel as u64);
            flops = flops.saturating_add(product(&[2, side.conv, side.conv, c, channels, k, k]).unwrap_or(u64::MAX));
            channels = c;
        }
        let mut width = self.flat_width(&sides, u64::MAX).unwrap_or(u64::MAX);
        for &h in self.hidden.iter().chain(std::iter::once(&self.embedding)) {
            flops = flops.saturating_add(product(&[2, width, h as u64]).unwrap_or(u64::MAX));
            width = h as u64;
        }
        flops
    }

    /// Build the encoder with freshly initialised weights.
    pub fn init(&self, device: &Device) -> Encoder {
        let mut in_channels = 1;
        let stages = self
            .stages
            .iter()
            .map(|s| {
                let conv = Conv2dConfig::new([in_channels, s.channels], [s.kernel, s.kernel])
                    .with_stride([s.stride, s.stride])
                    .with_padding(PaddingConfig2d::Explicit(s.padding, s.padding, s.padding, s.padding))
                    .init(device);
                in_channels = s.channels;
                Stage {
                    conv,
                    // The reference's constants (α 1e-3, β 0.75, k 2), not PyTorch's defaults.
                    lrn: s.lrn.map(|size| {
                        LocalResponseNormConfig::new(size).with_alpha(0.001).with_beta(0.75).with_k(2.0).init()
                    }),
                    pool: MaxPool2dConfig::new([s.pool, s.pool])
                        .with_strides([s.pool_stride, s.pool_stride])
                        .init(),
                }
            })
            .collect();
        let mut width = self.flat_features();
        let hidden = self
            .hidden
            .iter()
            .map(|&h| {
                let layer = LinearConfig::new(width, h).init(device);
                width = h;
                layer
            })
            .collect();
        Encoder {
            stages,
            channel_dropout: DropoutConfig::new(self.channel_dropout).init(),
            hidden,
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(width, self.embedding).init(device),
            normalize: self.normalize,
        }
    }
}

/// One convolution stage of the encoder.
#[derive(Module, Debug)]
pub struct Stage {
    conv: Conv2d,
    lrn: Option<LocalResponseNorm>,
    pool: MaxPool2d,
}

/// The encoder `f`: a 28×28 image → an embedding.
#[derive(Module, Debug)]
pub struct Encoder {
    stages: Vec<Stage>,
    channel_dropout: Dropout,
    hidden: Vec<Linear>,
    dropout: Dropout,
    output: Linear,
    normalize: bool,
}

impl Encoder {
    /// Embed a batch of images.
    ///
    /// # Shapes
    ///
    /// - images: `[batch, 1, 28, 28]`, values in [0, 1] (see [`crate::preprocess`])
    /// - output: `[batch, embedding]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.head(self.features(images))
    }

    /// The convolution stages alone: what [`Encoder::freeze_features`] keeps fixed.
    ///
    /// # Shapes
    ///
    /// - images: `[batch, 1, 28, 28]`
    /// - output: `[batch, channels, side, side]` of the last stage
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let mut x = images;
        for stage in &self.stages {
            x = relu(stage.conv.forward(x)); // [batch, channels, side, side]
            if let Some(lrn) = &stage.lrn {
                x = lrn.forward(x);
            }
            x = stage.pool.forward(x); // [batch, channels, side', side']
        }
        x
    }

    /// Everything after the convolution stages: channel dropout, the fully connected
    /// layers and the optional unit norm.
    ///
    /// # Shapes
    ///
    /// - features: `[batch, channels, side, side]` (see [`Encoder::features`])
    /// - output: `[batch, embedding]`
    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        let [batch, _, _, _] = features.dims();
        let x = self.drop_channels(features);
        let mut x: Tensor<2> = x.reshape([batch as i64, -1]); // [batch, flat]
        for (i, layer) in self.hidden.iter().enumerate() {
            x = relu(layer.forward(x)); // [batch, hidden_i]
            if i == 0 {
                x = self.dropout.forward(x);
            }
        }
        let x = self.output.forward(x); // [batch, embedding]
        if self.normalize {
            // The epsilon keeps the gradient finite for an all-zero embedding.
            let norm = x.clone().square().sum_dim(1).add_scalar(1e-12).sqrt(); // [batch, 1]
            x / norm
        } else {
            x
        }
    }

    /// Stop training the convolution stages: fine-tuning then adapts only the fully
    /// connected layers, which keeps the general features and skips the costly
    /// convolution backward pass.
    pub fn freeze_features(mut self) -> Self {
        self.stages = self.stages.into_iter().map(|s| s.no_grad()).collect();
        self
    }

    /// `Dropout2d`: zero whole channels while training. burn's `Dropout` applied to a
    /// `[batch, channels, 1, 1]` mask of ones yields the scaled channel mask, and
    /// follows `train()` / `valid()` like every other dropout.
    fn drop_channels(&self, x: Tensor<4>) -> Tensor<4> {
        if self.channel_dropout.prob == 0.0 {
            return x;
        }
        let [batch, channels, _, _] = x.dims();
        let mask = self.channel_dropout.forward(Tensor::<4>::ones([batch, channels, 1, 1], &x.device()));
        x * mask // [batch, channels, side, side]
    }
}

/// Two inputs, one encoder: the Siamese network.
#[derive(Module, Debug)]
pub struct SiameseNetwork {
    pub encoder: Encoder,
}

impl SiameseNetwork {
    /// A network with freshly initialised weights.
    pub fn new(config: &EncoderConfig, device: &Device) -> Self {
        Self { encoder: config.init(device) }
    }

    /// Embed both inputs with the same encoder (shared weights).
    ///
    /// # Shapes
    ///
    /// - x1, x2: `[batch, 1, 28, 28]`
    /// - output: two `[batch, embedding]` tensors
    pub fn forward(&self, x1: Tensor<4>, x2: Tensor<4>) -> (Tensor<2>, Tensor<2>) {
        (self.encoder.forward(x1), self.encoder.forward(x2))
    }

    /// Embed one batch of images.
    ///
    /// # Shapes
    ///
    /// - images: `[batch, 1, 28, 28]`
    /// - output: `[batch, embedding]`
    pub fn embed(&self, images: Tensor<4>) -> Tensor<2> {
        self.encoder.forward(images)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::tensor::TensorData;

    fn batch(n: usize) -> Tensor<4> {
        let values: Vec<f32> = (0..n * IMAGE_PIXELS).map(|i| ((i * 37) % 101) as f32 / 100.0).collect();
        Tensor::from_data(TensorData::new(values, [n, 1, IMAGE_SIDE, IMAGE_SIDE]), &cpu())
    }

    #[test]
    fn architectures_are_checked_before_building() {
        for preset in [Preset::Default, Preset::Seed] {
            assert_eq!(EncoderConfig::preset(preset).check(), Ok(()));
            assert_eq!(EncoderConfig::preset(preset).check_within(u32::MAX as u64), Ok(()));
        }
        let with = |edit: fn(&mut EncoderConfig)| {
            let mut c = EncoderConfig::preset(Preset::Default);
            edit(&mut c);
            c.check().unwrap_err()
        };
        assert_eq!(with(|c| c.stages[0].stride = 0), "stage 1 has stride 0 and pool stride 2 (each 1‥28)");
        assert_eq!(with(|c| c.stages[1].pool_stride = 0), "stage 2 has stride 1 and pool stride 0 (each 1‥28)");
        assert_eq!(with(|c| c.stages[0].kernel = 40), "stage 1 has a 40-px kernel for its 28-px input");
        // Stage 2's input is 12 px: a 9-px kernel leaves 4, a pool of 5 does not fit.
        assert_eq!(with(|c| { c.stages[1].kernel = 9; c.stages[1].pool = 5 }), "stage 2 pools 5 px of its 4-px feature map");
        assert_eq!(with(|c| c.stages[0].channels = 100_000_000), "stage 1 has 100000000 channels (1‥512)");
        assert_eq!(with(|c| c.embedding = 0), "a fully connected layer 0 wide (1‥4096; the embedding too)");
        assert_eq!(with(|c| c.hidden = vec![1_000_000_000]), "a fully connected layer 1000000000 wide (1‥4096; the embedding too)");
        assert_eq!(with(|c| c.dropout = f64::NAN), "dropout NaN (must be in [0, 1))");
        // 512 → 4096 → 4096 → 32: 2.1 M + 16.8 M + 0.1 M parameters.
        assert!(with(|c| c.hidden = vec![4096, 4096]).ends_with("parameters (at most 4000000)"));
    }

    /// One stage of `channels` with a `kernel`, `padding` and a `pool` (strides 1),
    /// then straight to a 2-D embedding.
    fn one_stage(channels: usize, kernel: usize, padding: usize, pool: usize) -> EncoderConfig {
        EncoderConfig::new(vec![ConvStage { channels, kernel, stride: 1, padding, lrn: None, pool, pool_stride: 1 }], vec![], 2)
    }

    #[test]
    fn a_kernel_whose_weights_wrap_to_zero_on_32_bits_is_refused() {
        // 65,536² = 2³² weights: 0 in a 32-bit usize. The padded input is
        // 28 + 2·65,535 = 131,098 px, the conv side 131,098 − 65,536 + 1 = 65,563, and a
        // pool that wide leaves 1 px: only the parameter count can stop it.
        let config = one_stage(1, 65_536, 65_535, 65_563);
        assert_eq!(config.sides(u64::MAX), Ok(vec![Sides { conv: 65_563, pooled: 1 }]));
        assert_eq!(
            config.check_within(u32::MAX as u64),
            Err("stage 1's sizes overflow (1×1×65536×65536 weights and 1 biases exceed 4294967295)".into())
        );
        assert_eq!(config.check_within(u64::MAX), Err("stage 1 brings the parameters to 4294967297 (at most 4000000)".into()));
        assert!(config.check().is_err());
    }

    // Some of these sizes do not fit a 32-bit usize at all.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn huge_sizes_are_refused_with_32_and_64_bit_sizes() {
        let both = |c: &EncoderConfig| [c.check_within(u32::MAX as u64).unwrap_err(), c.check_within(u64::MAX).unwrap_err()];
        // 24·(2³¹)² > 2⁶⁶ weights overflow even u64.
        let mut c = EncoderConfig::preset(Preset::Default);
        c.stages[0].kernel = 1 << 31;
        assert_eq!(both(&c), [
            "stage 1's sizes overflow (1×24×2147483648×2147483648 weights and 24 biases exceed 4294967295)",
            "stage 1's sizes overflow (1×24×2147483648×2147483648 weights and 24 biases exceed 18446744073709551615)",
        ]);
        // (2³¹)² = 2⁶² weights: too many for 32 bits, not for 64. Its padded input,
        // 28 + 2·(2³¹ − 1) = 4,294,967,322 px, would overflow 32 bits too.
        let c = one_stage(1, 1 << 31, (1 << 31) - 1, 1);
        assert_eq!(both(&c), [
            "stage 1's sizes overflow (1×1×2147483648×2147483648 weights and 1 biases exceed 4294967295)",
            "stage 1 brings the parameters to 4611686018427387905 (at most 4000000)",
        ]);
        assert_eq!(c.sides(u32::MAX as u64), Err("stage 1's sizes overflow (28 px and 2×2147483647 px of padding exceed 4294967295)".into()));
        // 1999² + 1 parameters, then 65,535² + 1: 4,298,832,228 in all.
        let mut c = one_stage(1, 1999, 0, 1);
        c.stages.push(ConvStage { kernel: 65_535, ..c.stages[0].clone() });
        assert_eq!(both(&c), [
            "stage 2's sizes overflow (3996002 parameters before it and its 4294836226 exceed 4294967295)",
            "stage 2 brings the parameters to 4298832228 (at most 4000000)",
        ]);
        // Three 1154-px kernels padded by 1153 px each grow the side by 1153 px: to
        // 3487 px, whose 512 channels (a 1-px kernel) are 6,225,494,528 features.
        let mut c = one_stage(1, 1154, 1153, 1);
        c.stages = vec![c.stages[0].clone(), c.stages[0].clone(), c.stages[0].clone(), ConvStage { channels: 512, kernel: 1, padding: 0, ..c.stages[0].clone() }];
        assert_eq!(both(&c), [
            "stage 4's sizes overflow (512×3487×3487 features exceed 4294967295)",
            "12454985233 parameters (at most 4000000)",
        ]);
        // A 1999-px kernel padded by 1998 px: 2026² = 4,104,676 features, and 4096
        // times that weights in the first hidden layer.
        let mut c = one_stage(1, 1999, 1998, 1);
        c.hidden = vec![4096];
        assert_eq!(both(&c), [
            "fully connected layer 1's sizes overflow (4104676×4096 weights, 4096 biases and 3996002 parameters before it exceed 4294967295)",
            "16816761188 parameters (at most 4000000)",
        ]);
        // 2³² − 1 (the largest 32-bit usize) and 2³² wide.
        for width in [u32::MAX as usize, 1 << 32] {
            let mut c = EncoderConfig::preset(Preset::Default);
            c.hidden = vec![width];
            let e = format!("a fully connected layer {width} wide (1‥4096; the embedding too)");
            assert_eq!(both(&c), [e.clone(), e]);
        }
    }

    #[test]
    fn presets_have_the_documented_size() {
        let default = EncoderConfig::preset(Preset::Default);
        let seed = EncoderConfig::preset(Preset::Seed);
        assert_eq!(seed.flat_features(), 2048); // 28 → conv k5 s3 p2 → 10 → pool 4/2 → 4; 128·4·4
        assert_eq!(default.flat_features(), 768); // 28 → 24 → 12 → 8 → 4; 48·4·4
        assert_eq!(seed.sides(u64::MAX), Ok(vec![Sides { conv: 10, pooled: 4 }]));
        assert_eq!(default.sides(u64::MAX), Ok(vec![Sides { conv: 24, pooled: 12 }, Sides { conv: 8, pooled: 4 }]));
        // 24·25 + 24, 48·24·25 + 48, 768·64 + 64, 64·32 + 32
        assert_eq!(SiameseNetwork::new(&default, &cpu()).num_params(), 624 + 28_848 + 49_216 + 2_080);
        assert_eq!(SiameseNetwork::new(&seed, &cpu()).num_params(), 1_118_338);
        // 24²·24·25·2 + 8²·48·24·25·2 + 768·64·2 + 64·32·2
        assert_eq!(default.flops_per_image(), 691_200 + 3_686_400 + 98_304 + 4_096);
    }

    #[test]
    fn both_branches_give_bit_identical_embeddings() {
        for preset in [Preset::Default, Preset::Seed] {
            let config = EncoderConfig::preset(preset);
            let net = SiameseNetwork::new(&config, &cpu()).valid();
            let (e1, e2) = net.forward(batch(3), batch(3));
            assert_eq!(e1.dims(), [3, config.embedding]);
            let (a, b) = (e1.into_data().try_to_vec::<f32>().unwrap(), e2.into_data().try_to_vec::<f32>().unwrap());
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()), "{preset:?}: branches differ");
        }
    }

    #[test]
    fn default_embeddings_lie_on_the_unit_sphere() {
        let net = SiameseNetwork::new(&EncoderConfig::preset(Preset::Default), &cpu());
        let e = net.embed(batch(4)).into_data().try_to_vec::<f32>().unwrap();
        for row in e.chunks(32) {
            let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        }
    }

    #[test]
    fn local_response_norm_matches_hand_values() {
        // The seed preset's LRN (size 5, α 1e-3, β 0.75, k 2) on one pixel with 6 channels
        // x = 1‥6: y_c = x_c / (k + α/5 · Σ x_j² over j in c-2‥c+2, zeros outside)^β.
        let encoder = EncoderConfig::preset(Preset::Seed).init(&cpu());
        let lrn = encoder.stages[0].lrn.as_ref().expect("the seed preset has LRN");
        let x = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [1, 6, 1, 1]), &cpu());
        let sums = [14.0f32, 30.0, 55.0, 90.0, 86.0, 77.0]; // 1+4+9, 1+4+9+16, …, 16+25+36
        let expected: Vec<f32> = sums.iter().enumerate().map(|(c, s)| (c + 1) as f32 / (2.0 + 0.001 * s / 5.0).powf(0.75)).collect();
        let got = lrn.forward(x).into_data().try_to_vec::<f32>().unwrap();
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 1e-6, "got {got:?}, expected {expected:?}");
        }
    }

    #[test]
    fn dropout_acts_only_while_training() {
        let config = EncoderConfig::preset(Preset::Seed);
        let device = cpu().autodiff();
        let net = SiameseNetwork::new(&config, &device);
        let x = batch(2).to_device(&device);
        let a = net.embed(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        let b = net.embed(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        assert_ne!(a, b, "training forward passes draw fresh dropout masks");
        let valid = net.valid();
        let x = x.without_autodiff();
        assert_eq!(valid.embed(x.clone()).into_data(), valid.embed(x).into_data());
    }
}
