//! # siamese-digits
//!
//! A Siamese network for handwritten digits: one convolutional encoder `f` maps a
//! 28×28 digit to a point, and two drawings of the same digit land close together.
//! Trained natively with [burn](https://burn.dev), shipped to the browser as
//! WebAssembly in two modules: burn-ndarray on the CPU, and (cargo feature
//! `webgpu`) burn-wgpu for browsers with a WebGPU adapter.
//!
//! - [`model`]: the encoder and [`model::SiameseNetwork`], with the `default` and `seed` presets
//! - [`loss`]: contrastive, triplet and prototypical losses
//! - [`distance`]: the Euclidean distance every caller uses
//! - [`preprocess`]: any raster → the 28×28 MNIST convention
//! - [`strokes`]: pen strokes → the same 28×28 image whatever the drawing's size (what the pads send)
//! - [`skeleton`]: a scanned digit → the strokes that could have drawn it
//! - [`projection`]: PCA of embeddings for the 2-D map
//! - `background` (native only): Omniglot's symbols and made-up ones, mixed with the digits for training
//! - [`data`]: MNIST readers, balanced samplers, augmentation
//! - [`train`]: the training step shared by the command line and the browser
//! - `recipe` (native only): our recipe and the reference post's experiment, with learning curves
//! - [`studio`]: the fine-tuning studio's training set and the batches it mixes
//! - [`gallery`]: one-shot recognition: named references kept as strokes, matched live
//! - [`session`]: everything the visitor made (weights, training set, options, map) and its one byte format
//! - [`oneshot`]: N-way one-shot trials and the open set, for the native and browser figures
//! - [`metrics`]: pair accuracy, thresholds, ROC AUC, the evaluation protocol
//! - [`weights`]: the weights file format and the shipped weights
//! - `gpu` (wasm32 only): where the engine runs, the page's WebGPU device (cargo feature `webgpu`) and the move to the CPU when it fails
//! - `web` (wasm32 only): the JavaScript API, the one place that knows about the browser

#[cfg(not(target_arch = "wasm32"))]
pub mod background;
pub mod backend;
pub mod data;
pub mod distance;
pub mod gallery;
#[cfg(target_arch = "wasm32")]
pub mod gpu;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod oneshot;
pub mod preprocess;
pub mod projection;
#[cfg(not(target_arch = "wasm32"))]
pub mod recipe;
pub mod session;
pub mod skeleton;
pub mod strokes;
pub mod studio;
pub mod train;
pub mod weights;
#[cfg(target_arch = "wasm32")]
pub mod web;
