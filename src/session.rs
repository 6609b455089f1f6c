//! The visitor's session: everything they made in the page, owned in one place —
//! the weights in use (shipped or fine-tuned), the training set, the fine-tuning
//! options and the trainer with its policy, the map's projection. Plain Rust: the
//! browser's engine holds one and only converts, and `cargo test` checks the policy.
//!
//! A session has one byte format ([`Session::to_bytes`], [`SessionFile::decode`]) for
//! every purpose: moving between the CPU and WebGPU modules, restarting a trapped
//! worker, saving in the browser, and the "Download my session" file.
//!
//! Layout (little-endian): `b"SIAMSESS"`, version `u32`, body length `u32`, the body,
//! CRC-32 `u32` of everything before it. Body of version 2 (version 1 is the same
//! without the gallery, and opens with an empty one):
//! - release: `u8` length + UTF-8 (the shipped weights' checksum it was saved under)
//! - weights: `u32` length + a weights file ([`crate::weights`]); length 0 means the
//!   shipped weights
//! - steps: `u32` (fine-tuning steps taken on these weights)
//! - options: loss `u8` (0 contrastive, 1 triplet), learning rate `f64`, batch size
//!   `u32`, steps per run `u32`
//! - items: count `u32`, then per item a kind `u8`: 0 = example (label `u8`, 784 `f32`),
//!   1 = pair (same `u8` 0/1, 784 + 784 `f32`)
//! - gallery: count `u32`, then per reference its name (`u8` length + UTF-8), its
//!   points (`u32` count + x, y `f32` each) and its strokes (`u32` count + each
//!   stroke's end `u32`, as [`crate::strokes::from_flat`] reads them)

use std::fmt;
use std::rc::Rc;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::distance;
use crate::gallery::{Gallery, Match, Reference};
use crate::metrics;
use crate::model::{IMAGE_PIXELS, IMAGE_SIDE, Preset, SiameseNetwork};
use crate::projection::Pca;
use crate::studio::{Item, Studio};
use crate::train::{LossKind, Step, TrainConfig, Trainer};
use crate::weights::{self, Header, WeightsError};

const MAGIC: &[u8; 8] = b"SIAMSESS";

fn images_tensor(flat: &[f32], device: &Device) -> Tensor<4> {
    let n = flat.len() / IMAGE_PIXELS;
    Tensor::from_data(TensorData::new(flat.to_vec(), [n, 1, IMAGE_SIDE, IMAGE_SIDE]), device)
}
/// The format this build writes.
pub const VERSION: u32 = 2;

/// A default and the inclusive bounds of one fine-tuning option.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Bounds<T> {
    pub default: T,
    pub min: T,
    pub max: T,
}

impl<T: PartialOrd + Copy + fmt::Display> Bounds<T> {
    fn check(&self, name: &str, value: T) -> Result<T, String> {
        // `!(a <= b)` rather than `a > b`: a NaN learning rate is refused too.
        if !(self.min <= value && value <= self.max) {
            return Err(format!("the {name} must be between {} and {}, got {value}", self.min, self.max));
        }
        Ok(value)
    }
}

/// A default and the choices of one fine-tuning option.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Choice<T: 'static> {
    pub default: T,
    pub choices: &'static [T],
}

/// The fine-tuning options' defaults and bounds, each defined once (the studio's
/// inputs read them from here).
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FineTuning {
    pub loss: Choice<LossKind>,
    pub learning_rate: Bounds<f64>,
    pub batch_size: Bounds<usize>,
    pub steps: Bounds<usize>,
}

/// Adam at 1e-3 bends the metric in tens of steps without wrecking it (the page's
/// test: 30 steps lower the loss by more than 30 % and MNIST stays); 32 pairs keep
/// a step ~25 ms on a CPU; a run of 40 steps is about a second there.
pub const FINE_TUNING: FineTuning = FineTuning {
    loss: Choice { default: LossKind::Contrastive, choices: &[LossKind::Contrastive, LossKind::Triplet] },
    learning_rate: Bounds { default: 1e-3, min: 1e-6, max: 1.0 },
    batch_size: Bounds { default: 32, min: 2, max: 512 },
    steps: Bounds { default: 40, min: 1, max: 1000 },
};

/// How the studio fine-tunes: the loss, Adam's learning rate, pairs (or triplets) per
/// step and steps per run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Options {
    pub loss: LossKind,
    pub learning_rate: f64,
    pub batch_size: usize,
    pub steps: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            loss: FINE_TUNING.loss.default,
            learning_rate: FINE_TUNING.learning_rate.default,
            batch_size: FINE_TUNING.batch_size.default,
            steps: FINE_TUNING.steps.default,
        }
    }
}

/// Some options to change; the others stay.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OptionsUpdate {
    pub loss: Option<String>,
    pub learning_rate: Option<f64>,
    pub batch_size: Option<usize>,
    pub steps: Option<usize>,
}

impl Options {
    /// These options with `update` applied, if every value is within its bounds.
    pub fn with(&self, update: &OptionsUpdate) -> Result<Options, String> {
        let b = FINE_TUNING;
        Ok(Options {
            loss: match &update.loss {
                Some(name) => name.parse()?,
                None => self.loss,
            },
            learning_rate: b.learning_rate.check("learning rate", update.learning_rate.unwrap_or(self.learning_rate))?,
            batch_size: b.batch_size.check("batch size", update.batch_size.unwrap_or(self.batch_size))?,
            steps: b.steps.check("number of steps", update.steps.unwrap_or(self.steps))?,
        })
    }

    /// The trainer these options call for. Only the fully connected layers adapt: a
    /// few drawings should bend the metric, not relearn strokes (and a step gets ~10×
    /// cheaper).
    fn train_config(&self) -> TrainConfig {
        TrainConfig::new()
            .with_loss(self.loss)
            .with_margin(self.loss.default_margin())
            .with_learning_rate(self.learning_rate)
            .with_batch_size(self.batch_size)
            .with_freeze_features(true)
    }
}

/// Why bytes are not a session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionError {
    NotSession,
    UnsupportedVersion(u32),
    Truncated,
    Corrupt,
    /// The checksum holds but a field does not make sense.
    BadContent(String),
    /// The weights inside are not usable.
    Weights(WeightsError),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSession => write!(f, "not a siamese-digits session file"),
            Self::UnsupportedVersion(v) => write!(f, "session version {v} is not supported (this build reads versions 1 to {VERSION})"),
            Self::Truncated => write!(f, "the session file is truncated"),
            Self::Corrupt => write!(f, "the session file is corrupt (checksum mismatch)"),
            Self::BadContent(e) => write!(f, "the session file is invalid: {e}"),
            Self::Weights(e) => write!(f, "the session's weights are unusable: {e}"),
        }
    }
}

impl std::error::Error for SessionError {}

/// A session as its file holds it, checked, not yet on any device.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionFile {
    /// The shipped weights' checksum ([`crate::weights::release`]) when it was saved.
    pub release: String,
    /// Fine-tuned or imported weights; `None`: the shipped ones.
    pub weights: Option<Vec<u8>>,
    pub steps: u32,
    pub options: Options,
    pub items: Vec<Item>,
    pub gallery: Vec<Reference>,
}

/// Reads a body field by field; every length is checked before it is used.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SessionError> {
        let end = self.at.checked_add(n).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| SessionError::BadContent("a field runs past the end of the body".into()))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, SessionError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, SessionError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn f64(&mut self) -> Result<f64, SessionError> {
        Ok(f64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn usize(&mut self) -> Result<usize, SessionError> {
        usize::try_from(self.u32()?).map_err(|_| SessionError::BadContent("a size does not fit this machine".into()))
    }
    fn image(&mut self, what: &str) -> Result<Vec<f32>, SessionError> {
        let bytes = self.take(IMAGE_PIXELS * 4)?;
        let image: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
        crate::studio::check_image(&image, what).map_err(SessionError::BadContent)?;
        Ok(image)
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, SessionError> {
        let bytes = self.take(n.checked_mul(4).ok_or(SessionError::Truncated)?)?;
        Ok(bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect())
    }
    fn u32s(&mut self, n: usize) -> Result<Vec<u32>, SessionError> {
        let bytes = self.take(n.checked_mul(4).ok_or(SessionError::Truncated)?)?;
        Ok(bytes.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes"))).collect())
    }
    fn bool(&mut self, what: &str) -> Result<bool, SessionError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(SessionError::BadContent(format!("{what} is {other}, not 0 or 1"))),
        }
    }
}

fn put_u32(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&u32::try_from(v).expect("session sizes fit in 32 bits").to_le_bytes());
}

fn put_image(out: &mut Vec<u8>, image: &[f32]) {
    image.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
}

impl SessionFile {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        body.push(u8::try_from(self.release.len()).expect("a release is 8 hex digits"));
        body.extend_from_slice(self.release.as_bytes());
        let weights = self.weights.as_deref().unwrap_or(&[]);
        put_u32(&mut body, weights.len());
        body.extend_from_slice(weights);
        body.extend_from_slice(&self.steps.to_le_bytes());
        body.push(match self.options.loss {
            LossKind::Contrastive => 0,
            LossKind::Triplet => 1,
        });
        body.extend_from_slice(&self.options.learning_rate.to_le_bytes());
        put_u32(&mut body, self.options.batch_size);
        put_u32(&mut body, self.options.steps);
        put_u32(&mut body, self.items.len());
        for item in &self.items {
            match item {
                Item::Example { image, label } => {
                    body.extend_from_slice(&[0, *label]);
                    put_image(&mut body, image);
                }
                Item::Pair { a, b, same } => {
                    body.extend_from_slice(&[1, u8::from(*same)]);
                    put_image(&mut body, a);
                    put_image(&mut body, b);
                }
            }
        }
        put_u32(&mut body, self.gallery.len());
        for r in &self.gallery {
            body.push(u8::try_from(r.name.len()).expect("a name is at most 40 characters"));
            body.extend_from_slice(r.name.as_bytes());
            put_u32(&mut body, r.xy.len() / 2);
            r.xy.iter().for_each(|v| body.extend_from_slice(&v.to_le_bytes()));
            put_u32(&mut body, r.ends.len());
            r.ends.iter().for_each(|v| body.extend_from_slice(&v.to_le_bytes()));
        }
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&VERSION.to_le_bytes());
        put_u32(&mut out, body.len());
        out.extend_from_slice(&body);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Check and decode a session file. The weights inside are checked as a weights
    /// file here; whether they build on a device is [`Session::open`]'s check.
    pub fn decode(bytes: &[u8]) -> Result<SessionFile, SessionError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(SessionError::NotSession);
        }
        let word = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
        let version = word(8).ok_or(SessionError::Truncated)?;
        if !(1..=VERSION).contains(&version) {
            return Err(SessionError::UnsupportedVersion(version));
        }
        let body_len = usize::try_from(word(12).ok_or(SessionError::Truncated)?).map_err(|_| SessionError::Truncated)?;
        let end = body_len.checked_add(16).ok_or(SessionError::Truncated)?;
        let total = end.checked_add(4).ok_or(SessionError::Truncated)?;
        if bytes.len() < total {
            return Err(SessionError::Truncated);
        }
        if bytes.len() > total || crc32fast::hash(&bytes[..end]) != word(end).expect("checked above") {
            return Err(SessionError::Corrupt);
        }
        let mut r = Reader { bytes: &bytes[16..end], at: 0 };
        let release_len = r.u8()? as usize;
        let release = std::str::from_utf8(r.take(release_len)?)
            .map_err(|_| SessionError::BadContent("the release is not text".into()))?
            .to_string();
        let weights_len = r.usize()?;
        let weights = match weights_len {
            0 => None,
            n => {
                let file = r.take(n)?.to_vec();
                weights::decode(&file).map_err(SessionError::Weights)?;
                Some(file)
            }
        };
        let steps = r.u32()?;
        let loss = match r.u8()? {
            0 => LossKind::Contrastive,
            1 => LossKind::Triplet,
            other => return Err(SessionError::BadContent(format!("loss {other} is unknown"))),
        };
        let update = OptionsUpdate { loss: None, learning_rate: Some(r.f64()?), batch_size: Some(r.usize()?), steps: Some(r.usize()?) };
        let options = Options { loss, ..Options::default() }.with(&update).map_err(SessionError::BadContent)?;
        let count = r.usize()?;
        let mut items = Vec::new();
        for i in 0..count {
            let item = match r.u8()? {
                0 => {
                    let label = r.u8()?;
                    Item::example(&r.image(&format!("item {i}"))?, label).map_err(|e| SessionError::BadContent(format!("item {i}: {e}")))?
                }
                1 => {
                    let same = r.bool(&format!("item {i}'s same flag"))?;
                    let a = r.image(&format!("item {i}'s first image"))?;
                    Item::Pair { a, b: r.image(&format!("item {i}'s second image"))?, same }
                }
                other => return Err(SessionError::BadContent(format!("item {i} is of unknown kind {other}"))),
            };
            items.push(item);
        }
        let mut gallery = Vec::new();
        if version >= 2 {
            let count = r.usize()?;
            if count > crate::gallery::MAX_REFERENCES {
                return Err(SessionError::BadContent(format!("{count} references is more than a gallery holds")));
            }
            for i in 0..count {
                let name_len = r.u8()? as usize;
                let name = std::str::from_utf8(r.take(name_len)?)
                    .map_err(|_| SessionError::BadContent(format!("reference {i}'s name is not text")))?
                    .to_string();
                let points = r.usize()?;
                if points > crate::gallery::MAX_POINTS {
                    return Err(SessionError::BadContent(format!("reference {i} has {points} points, more than a reference holds")));
                }
                let xy = r.f32s(2 * points)?;
                let strokes = r.usize()?;
                if strokes > points {
                    return Err(SessionError::BadContent(format!("reference {i} has more strokes than points")));
                }
                let ends = r.u32s(strokes)?;
                gallery.push(Reference::new(&name, xy, ends).map_err(|e| SessionError::BadContent(format!("reference {i}: {e}")))?);
            }
        }
        if r.at != r.bytes.len() {
            return Err(SessionError::BadContent(format!("{} bytes follow the last field", r.bytes.len() - r.at)));
        }
        Ok(SessionFile { release, weights, steps, options, items, gallery })
    }
}

/// Fine-tuned weights of a session saved under another release: set aside (the
/// shipped weights changed since), for the page to keep among the saved models.
#[derive(Debug, PartialEq)]
pub struct SetAside {
    pub weights: Vec<u8>,
    /// The release they were saved under, and the steps they had taken.
    pub release: String,
    pub steps: u32,
}

/// What opening a session did besides replacing this one.
#[derive(Debug, Default, PartialEq)]
pub struct Opened {
    pub set_aside: Option<SetAside>,
}

/// A training step in flight: its result is read (asynchronously on WebGPU), then
/// handed to [`Session::finish_step`].
pub struct PendingStep {
    step: Step,
    generation: u64,
}

impl PendingStep {
    /// `[loss, Σw²]`, to read back.
    pub fn values(&self) -> Tensor<1> {
        self.step.values.clone()
    }
}

/// A network set aside while the other one answers, as it was left.
struct Parked {
    preset: Preset,
    weights: Vec<u8>,
    custom: bool,
    steps: u32,
}

/// Everything the visitor has made, and the network that answers them.
pub struct Session {
    release: String,
    device: Device,
    /// Inference copy of the current weights on `device`.
    model: SiameseNetwork,
    header: Header,
    /// The weights as a file: what export returns and what a move to another device
    /// reloads. Behind `model` while `stale` (training steps since the last sync).
    weights: Vec<u8>,
    stale: bool,
    /// Whether the weights are other than this build's shipped ones.
    custom: bool,
    steps: u32,
    options: Options,
    trainer: Option<Trainer>,
    training: bool,
    /// Bumped whenever the weights are replaced, so a training step that was in
    /// flight meanwhile can tell its result is stale.
    generation: u64,
    /// Bumped on every change a snapshot would show.
    revision: u64,
    studio: Studio,
    gallery: Gallery,
    validation: Rc<Dataset>,
    /// Bumped whenever the model changes (new weights or a training step): which
    /// weights an embedding computed now belongs to.
    model_key: u64,
    /// The bundled digits' embeddings computed under `model_key`'s weights: scoring,
    /// the map and a new engine's warm-up all need them, and on a slow GPU each
    /// pass takes seconds.
    validation_embeddings: Option<(u64, Vec<f32>)>,
    /// The map's projection and the bundled digits' embeddings it was fitted on.
    map: Option<(Pca, Vec<f32>)>,
    /// The other network, kept as it was left while this one answers.
    parked: Option<Parked>,
    /// The `seed` network's shipped weights, once the page has fetched them.
    seed_shipped: Option<Vec<u8>>,
}

impl Session {
    /// A fresh session on `device` with the shipped weights: `replay` digits are mixed
    /// into fine-tuning, `validation` digits are scored and mapped.
    pub fn new(device: Device, replay: Dataset, validation: Rc<Dataset>) -> Result<Self, String> {
        let shipped = weights::shipped();
        let (model, header) = weights::from_bytes(&shipped, &device).map_err(|e| e.to_string())?;
        Ok(Self {
            release: weights::release(),
            device,
            model,
            header,
            weights: shipped,
            stale: false,
            custom: false,
            steps: 0,
            options: Options::default(),
            trainer: None,
            training: false,
            generation: 0,
            revision: 0,
            studio: Studio::new(replay, 0),
            gallery: Gallery::default(),
            validation,
            model_key: 0,
            validation_embeddings: None,
            map: None,
            parked: None,
            seed_shipped: None,
        })
    }

    /// The shipped weights' checksum of this build.
    pub fn release(&self) -> &str {
        &self.release
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn model(&self) -> &SiameseNetwork {
        &self.model
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn validation(&self) -> &Rc<Dataset> {
        &self.validation
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Fine-tuning steps taken on the current weights.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn items(&self) -> &[Item] {
        self.studio.items()
    }

    fn changed(&mut self) {
        self.revision += 1;
    }

    /// Embeddings computed before now belong to other weights.
    fn model_changed(&mut self) {
        self.model_key += 1;
        self.validation_embeddings = None;
        self.gallery.forget_embeddings();
    }

    /// Replace the weights (a checked file); the trainer starts afresh.
    fn set_weights(&mut self, bytes: Vec<u8>, custom: bool, steps: u32) -> Result<(), WeightsError> {
        let (model, header) = weights::from_bytes(&bytes, &self.device)?;
        self.model = model;
        self.header = header;
        self.weights = bytes;
        self.stale = false;
        self.custom = custom;
        self.steps = steps;
        self.trainer = None;
        self.generation += 1;
        self.model_changed();
        self.changed();
        Ok(())
    }

    /// Load a weights file; a bad one is refused and the current weights stay.
    pub fn import_weights(&mut self, bytes: Vec<u8>) -> Result<(), WeightsError> {
        let custom = bytes != weights::shipped() && Some(&bytes) != self.seed_shipped.as_ref();
        self.set_weights(bytes, custom, 0)
    }

    /// Back to the current network's shipped weights; the training set and options stay.
    pub fn reset(&mut self) {
        let shipped = self.shipped(self.network()).unwrap_or_else(weights::shipped);
        self.set_weights(shipped, false, 0).expect("the shipped weights load");
    }

    /// Which network answers: `seed` when the weights are that preset's, else `default`.
    pub fn network(&self) -> Preset {
        if self.header.preset == Preset::Seed.name() { Preset::Seed } else { Preset::Default }
    }

    /// Whether the `seed` network's shipped weights are here (see [`Session::add_seed_weights`]).
    pub fn has_seed_weights(&self) -> bool {
        self.seed_shipped.is_some()
    }

    /// Keep the `seed` network's shipped weights, fetched by the page on demand: only
    /// the very file this build names ([`weights::SEED_RELEASE`]) is taken.
    pub fn add_seed_weights(&mut self, bytes: Vec<u8>) -> Result<(), String> {
        let sum = weights::checksum(&bytes);
        if sum != weights::SEED_RELEASE {
            return Err(format!(
                "these are not the seed network's weights of this release (checksum {sum}, expected {})",
                weights::SEED_RELEASE
            ));
        }
        weights::from_bytes(&bytes, &self.device).map_err(|e| e.to_string())?;
        self.seed_shipped = Some(bytes);
        Ok(())
    }

    fn shipped(&self, network: Preset) -> Option<Vec<u8>> {
        match network {
            Preset::Default => Some(weights::shipped()),
            Preset::Seed => self.seed_shipped.clone(),
        }
    }

    /// Let the other network answer. The one leaving is kept as it was (fine-tuned
    /// or not) and comes back so; one never used starts from its shipped weights.
    /// The weights are synced as for [`Session::weights_file`]; the map is fitted
    /// again (the embedding changes).
    pub fn use_network(&mut self, network: Preset, can_read: bool) -> Result<(), String> {
        if network == self.network() {
            return Ok(());
        }
        let (bytes, custom, steps) = match self.parked.as_ref().filter(|p| p.preset == network) {
            Some(p) => (p.weights.clone(), p.custom, p.steps),
            None => (self.shipped(network).ok_or("the seed network's weights have not been fetched yet")?, false, 0),
        };
        let leaving = Parked { preset: self.network(), weights: self.weights_file(can_read)?, custom: self.custom, steps: self.steps };
        self.set_weights(bytes, custom, steps).map_err(|e| e.to_string())?;
        self.parked = Some(leaving);
        self.map = None;
        Ok(())
    }

    /// Run on `device` from now on, with the last synced weights (steps since then are
    /// lost: the device they lived on may be gone). Returns whether any were lost.
    pub fn move_to(&mut self, device: Device) -> bool {
        let lost = self.stale;
        self.device = device;
        let (custom, steps) = (self.custom, self.steps);
        let bytes = std::mem::take(&mut self.weights);
        self.set_weights(bytes, custom, steps).expect("weights that loaded once load again");
        lost
    }

    /// The weights not yet read back into the file, if training moved them on.
    pub fn unsynced(&self) -> Option<(SiameseNetwork, Header, u64)> {
        self.stale.then(|| (self.model.clone(), self.header.clone(), self.generation))
    }

    /// The weights file read back from the model of `generation` (ignored if the
    /// weights were replaced meanwhile).
    pub fn synced(&mut self, bytes: Vec<u8>, generation: u64) {
        if generation == self.generation {
            self.weights = bytes;
            self.stale = false;
        }
    }

    /// The current weights as a file: needs them synced ([`Session::unsynced`]) on a
    /// device that reads only asynchronously; reads them here otherwise.
    pub fn weights_file(&mut self, can_read: bool) -> Result<Vec<u8>, String> {
        if self.stale {
            if !can_read {
                return Err("the fine-tuned weights are still on the GPU: sync them first".into());
            }
            let h = self.header.clone();
            self.weights = weights::to_bytes(&self.model, &h.preset, &h.config, h.threshold, "fine-tuned in the browser");
            self.stale = false;
        }
        Ok(self.weights.clone())
    }

    /// The session as a file (see the module docs), with the weights synced as for
    /// [`Session::weights_file`].
    pub fn to_bytes(&mut self, can_read: bool) -> Result<Vec<u8>, String> {
        // The file keeps our network: while the seed network answers, the one set aside.
        let (weights, steps) = match &self.parked {
            Some(p) if self.network() == Preset::Seed && p.preset == Preset::Default => (p.custom.then(|| p.weights.clone()), p.steps),
            _ => (if self.custom { Some(self.weights_file(can_read)?) } else { None }, self.steps),
        };
        let file = SessionFile {
            release: self.release.clone(),
            weights,
            steps,
            options: self.options.clone(),
            items: self.studio.items().to_vec(),
            gallery: self.gallery.references().to_vec(),
        };
        Ok(file.encode())
    }

    /// Replace this session with the one in `bytes`, whole or not at all. Weights
    /// fine-tuned under another release are set aside: the shipped weights changed
    /// since, and the visitor chooses (the page keeps them among the saved models).
    pub fn open(&mut self, bytes: &[u8]) -> Result<Opened, SessionError> {
        let file = SessionFile::decode(bytes)?;
        let mut opened = Opened::default();
        let (weights, custom, steps) = match file.weights {
            Some(w) if file.release != self.release => {
                opened.set_aside = Some(SetAside { weights: w, release: file.release, steps: file.steps });
                (weights::shipped(), false, 0)
            }
            Some(w) => (w, true, file.steps),
            None => (weights::shipped(), false, 0),
        };
        // The weights first: if they fail to build, nothing has changed.
        self.set_weights(weights, custom, steps).map_err(SessionError::Weights)?;
        self.parked = None;
        self.options = file.options;
        self.studio.replace(file.items);
        self.gallery.replace(file.gallery);
        Ok(opened)
    }

    /// Add an item to the training set; returns how many there are.
    pub fn add(&mut self, item: Result<Item, String>) -> Result<usize, String> {
        let n = self.studio.add(item?);
        self.changed();
        Ok(n)
    }

    pub fn remove_item(&mut self, index: usize) -> Result<usize, String> {
        self.studio.remove(index)?;
        self.changed();
        Ok(self.studio.items().len())
    }

    pub fn clear_items(&mut self) {
        self.studio.clear();
        self.changed();
    }

    pub fn gallery(&self) -> &[Reference] {
        self.gallery.references()
    }

    /// Add a named drawing to the gallery; returns how many references there are.
    pub fn add_reference(&mut self, reference: Result<Reference, String>) -> Result<usize, String> {
        let n = self.gallery.add(reference?)?;
        self.changed();
        Ok(n)
    }

    pub fn remove_reference(&mut self, index: usize) -> Result<usize, String> {
        let n = self.gallery.remove(index)?;
        self.changed();
        Ok(n)
    }

    pub fn clear_gallery(&mut self) {
        self.gallery.clear();
        self.changed();
    }

    /// Add the references of a gallery file after the visitor's, all or none;
    /// returns how many there are.
    pub fn import_gallery(&mut self, text: &str) -> Result<usize, String> {
        let incoming = Gallery::parse(text)?;
        let total = self.gallery.references().len() + incoming.len();
        if total > crate::gallery::MAX_REFERENCES {
            return Err(format!(
                "the file's {} references and the gallery's {} make more than the {} a gallery holds",
                incoming.len(),
                self.gallery.references().len(),
                crate::gallery::MAX_REFERENCES
            ));
        }
        let all = [self.gallery.references(), &incoming].concat();
        self.gallery.replace(all);
        self.changed();
        Ok(total)
    }

    pub fn export_gallery(&self) -> String {
        self.gallery.to_json()
    }

    /// The references' images to embed with the current model, with the key to hand
    /// back to [`Session::gallery_embedded`]; `None` when the cache is current.
    pub fn gallery_to_embed(&self) -> Option<(u64, Vec<f32>)> {
        self.gallery.to_embed()
    }

    pub fn gallery_embedded(&mut self, key: u64, embeddings: Vec<f32>) {
        self.gallery.embedded(key, embeddings);
    }

    /// A drawing's embedding against the gallery: the `k` nearest names, and the
    /// nearest's name if it is within this model's "same" threshold.
    pub fn match_gallery(&self, embedding: &[f32], k: usize) -> Result<Match, String> {
        self.gallery.matches(embedding, k, self.header.threshold)
    }

    /// Change some options; each is checked against its bounds, and nothing changes if
    /// one is out of them.
    pub fn set_options(&mut self, update: &OptionsUpdate) -> Result<&Options, String> {
        self.options = self.options.with(update)?;
        self.changed();
        Ok(&self.options)
    }

    /// Take one fine-tuning step with the session's options: half the batch from the
    /// visitor's items, half replayed MNIST digits, the convolutions frozen. Read the
    /// step's values and hand them to [`Session::finish_step`].
    pub fn begin_step(&mut self) -> Result<PendingStep, String> {
        if self.training {
            return Err("a training step is already running".into());
        }
        let config = self.options.train_config();
        let batch = self.studio.batch(config.loss, config.batch_size)?;
        let reuse = self.trainer.as_ref().is_some_and(|t| t.config.loss == config.loss && t.config.batch_size == config.batch_size);
        if !reuse {
            self.trainer = Some(Trainer::new(self.model.clone(), config, &self.device));
        }
        let trainer = self.trainer.as_mut().expect("a trainer was just made");
        let step = trainer.step(&batch, self.options.learning_rate);
        self.training = true;
        Ok(PendingStep { step, generation: self.generation })
    }

    /// Judge a step from its read-back values (or the reason they could not be read):
    /// a diverged step is undone, exactly; a step whose weights were replaced
    /// meanwhile is discarded.
    pub fn finish_step(&mut self, pending: PendingStep, values: Result<Vec<f32>, String>) -> Result<f32, String> {
        self.training = false;
        let values = values.inspect_err(|_| self.trainer = None)?;
        if pending.generation != self.generation {
            return Err("the model was replaced while this training step ran; the step was discarded".into());
        }
        let trainer = self.trainer.as_mut().expect("the trainer of this generation");
        let loss = trainer.settle(pending.step, &values)?;
        self.model = trainer.inference_model();
        self.model_changed();
        self.stale = true;
        self.custom = true;
        self.steps += 1;
        self.changed();
        Ok(loss)
    }

    /// A fine-tuning step read back synchronously (CPU devices).
    pub fn train_step(&mut self) -> Result<f32, String> {
        let pending = self.begin_step()?;
        let values = pending.values().into_data().try_to_vec::<f32>().map_err(|e| format!("{e:?}"));
        self.finish_step(pending, values)
    }

    /// A throwaway training step on replay digits, for a new engine to compile its
    /// training kernels before it takes over; the session does not change.
    pub fn warm_step(&mut self) -> Result<Tensor<1>, String> {
        let config = self.options.train_config();
        let batch = self.studio.replay_batch(config.loss, config.batch_size)?;
        let mut trainer = Trainer::new(self.model.clone(), config, &self.device);
        Ok(trainer.step(&batch, self.options.learning_rate).values)
    }

    /// The visitor's images to embed and the pairs over them (every pair of labelled
    /// examples, every marked pair); `None` without a pair.
    pub fn user_images(&self) -> Option<(Vec<f32>, Vec<(usize, usize, bool)>)> {
        self.studio.user_pairs().map(|u| (u.images, u.pairs))
    }

    /// Pair accuracy at this model's threshold of `pairs` over `embeddings`.
    pub fn accuracy(&self, embeddings: &[f32], pairs: &[(usize, usize, bool)]) -> f64 {
        let distances = metrics::pair_distances(embeddings, self.header.config.embedding, pairs.iter().map(|p| (p.0, p.1)));
        let same: Vec<bool> = pairs.iter().map(|p| p.2).collect();
        metrics::pair_accuracy(&distances, &same, self.header.threshold)
    }

    /// Embeddings of `n` images (`n × 784`, checked), flattened `n × embedding`.
    pub fn embed(&self, images: &[f32]) -> Tensor<1> {
        self.model.embed(images_tensor(images, &self.device)).flatten(0, 1)
    }

    /// Two images' embeddings, `a ‖ b`, each through its own pass of the encoder.
    pub fn embed_each(&self, a: &[f32], b: &[f32]) -> Tensor<1> {
        let (ea, eb) = self.model.forward(images_tensor(a, &self.device), images_tensor(b, &self.device));
        Tensor::cat(vec![ea, eb], 0).flatten(0, 1)
    }

    /// The validation digits' embeddings under the current weights if they are known,
    /// else the key to hand back with them to [`Session::validation_embedded`].
    pub fn validation_embeddings(&self) -> Result<Vec<f32>, u64> {
        match &self.validation_embeddings {
            Some((key, embeddings)) if *key == self.model_key => Ok(embeddings.clone()),
            _ => Err(self.model_key),
        }
    }

    /// Keep the validation digits' embeddings computed under `key`'s weights (ignored
    /// if the model changed meanwhile).
    pub fn validation_embedded(&mut self, key: u64, embeddings: Vec<f32>) {
        if key == self.model_key {
            self.validation_embeddings = Some((key, embeddings));
        }
    }

    /// The evaluation protocol's pairs over the validation digits.
    pub fn validation_pairs(&self) -> Vec<(usize, usize, bool)> {
        crate::data::protocol_pairs(&self.validation, usize::MAX, 0)
    }

    /// Fit the map to the validation digits' embeddings; returns their 2-D points. A
    /// 2-D embedding is the map itself: its own plane, not projected.
    pub fn fit_map(&mut self, embeddings: Vec<f32>) -> Vec<f32> {
        let dim = self.header.config.embedding;
        let pca = if dim == 2 { Pca::plane() } else { Pca::fit(&embeddings, dim) };
        let points = embeddings.chunks_exact(dim).flat_map(|e| pca.project(e)).collect();
        self.map = Some((pca, embeddings));
        points
    }

    fn check_embedding(&self, embedding: &[f32]) -> Result<&(Pca, Vec<f32>), String> {
        let map = self.map.as_ref().ok_or("fit the map (referenceMap) first")?;
        let size = self.header.config.embedding;
        if embedding.len() != size {
            return Err(format!("expected an embedding of {size} values, got {}", embedding.len()));
        }
        if let Some(i) = embedding.iter().position(|v| !v.is_finite()) {
            return Err(format!("value {i} is not a finite number"));
        }
        Ok(map)
    }

    /// Where an embedding falls on the map: `[x, y]`.
    pub fn project(&self, embedding: &[f32]) -> Result<[f32; 2], String> {
        Ok(self.check_embedding(embedding)?.0.project(embedding))
    }

    /// The labels of the `k` mapped digits nearest an embedding, nearest first.
    pub fn nearest(&self, embedding: &[f32], k: usize) -> Result<Vec<u8>, String> {
        let (_, embeddings) = self.check_embedding(embedding)?;
        let dim = self.header.config.embedding;
        Ok(distance::nearest(embeddings, dim, embedding, k).into_iter().map(|i| self.validation.labels[i]).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::model::{EncoderConfig, Preset};

    fn flat(v: f32) -> Vec<f32> {
        vec![v; IMAGE_PIXELS]
    }

    /// A digit-like image: a bar whose position tells the "digit".
    fn bar(at: usize) -> Vec<f32> {
        (0..IMAGE_PIXELS).map(|p| if (p % 28).abs_diff(at) <= 2 && (4..24).contains(&(p / 28)) { 1.0 } else { 0.0 }).collect()
    }

    fn replay() -> Dataset {
        let mut set = Dataset::default();
        for d in 0..10u8 {
            set.push(&bar(4 + 2 * d as usize), d);
        }
        set
    }

    fn session() -> Session {
        Session::new(cpu(), replay(), Rc::new(replay())).unwrap()
    }

    #[test]
    fn validation_embeddings_are_kept_until_the_model_changes() {
        let mut s = taught();
        let key = s.validation_embeddings().unwrap_err();
        s.validation_embedded(key, vec![1.0, 2.0]);
        assert_eq!(s.validation_embeddings(), Ok(vec![1.0, 2.0]));
        s.add(Item::example(&bar(8), 2)).unwrap(); // the training set, not the model
        s.set_options(&OptionsUpdate { steps: Some(3), ..Default::default() }).unwrap();
        assert_eq!(s.validation_embeddings(), Ok(vec![1.0, 2.0]));

        s.train_step().unwrap();
        let trained = s.validation_embeddings().unwrap_err();
        assert_ne!(trained, key);
        s.validation_embedded(key, vec![3.0]); // computed under the weights before the step
        assert_eq!(s.validation_embeddings(), Err(trained));
        s.validation_embedded(trained, vec![4.0]);
        assert_eq!(s.validation_embeddings(), Ok(vec![4.0]));

        s.reset();
        assert!(s.validation_embeddings().is_err(), "reset brings other weights");
        let key = s.validation_embeddings().unwrap_err();
        s.validation_embedded(key, vec![5.0]);
        s.move_to(cpu());
        assert!(s.validation_embeddings().is_err(), "a move loads the weights again");
    }

    fn taught() -> Session {
        let mut s = session();
        s.add(Item::example(&bar(6), 1)).unwrap();
        s.add(Item::example(&bar(20), 7)).unwrap();
        s.add(Item::pair(&bar(7), &bar(19), false)).unwrap();
        s
    }

    /// Every parameter value, in module order.
    fn model_values(model: &SiameseNetwork, header: &Header) -> Vec<f32> {
        weights::decode(&weights::to_bytes(model, "x", &header.config, 1.0, "")).unwrap().1
    }

    fn values(s: &Session) -> Vec<f32> {
        model_values(s.model(), s.header())
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let s = session();
        assert_eq!(*s.options(), Options { loss: LossKind::Contrastive, learning_rate: 1e-3, batch_size: 32, steps: 40 });
        assert_eq!(LossKind::Contrastive.default_margin(), 1.0);
        assert_eq!(LossKind::Triplet.default_margin(), 0.5);
        let json = serde_json::to_string(&FINE_TUNING).unwrap();
        assert_eq!(json, r#"{"loss":{"default":"contrastive","choices":["contrastive","triplet"]},"learningRate":{"default":0.001,"min":1e-6,"max":1.0},"batchSize":{"default":32,"min":2,"max":512},"steps":{"default":40,"min":1,"max":1000}}"#);
    }

    #[test]
    fn options_outside_their_bounds_are_refused_and_nothing_changes() {
        let mut s = session();
        let set = |s: &mut Session, u: OptionsUpdate| s.set_options(&u).map(|_| ()).unwrap_err();
        assert_eq!(set(&mut s, OptionsUpdate { learning_rate: Some(0.0), ..Default::default() }), "the learning rate must be between 0.000001 and 1, got 0");
        assert!(set(&mut s, OptionsUpdate { learning_rate: Some(f64::NAN), ..Default::default() }).contains("got NaN"));
        assert!(set(&mut s, OptionsUpdate { learning_rate: Some(1.5), ..Default::default() }).contains("got 1.5"));
        assert_eq!(set(&mut s, OptionsUpdate { batch_size: Some(1), ..Default::default() }), "the batch size must be between 2 and 512, got 1");
        assert!(set(&mut s, OptionsUpdate { batch_size: Some(513), learning_rate: Some(0.01), ..Default::default() }).contains("got 513"));
        assert_eq!(set(&mut s, OptionsUpdate { steps: Some(0), ..Default::default() }), "the number of steps must be between 1 and 1000, got 0");
        assert!(set(&mut s, OptionsUpdate { loss: Some("hinge".into()), ..Default::default() }).contains("unknown loss `hinge`"));
        assert_eq!(*s.options(), Options::default(), "a refused update changes nothing, the valid part included");
        let revision = s.revision();
        s.set_options(&OptionsUpdate { loss: Some("triplet".into()), steps: Some(1000), ..Default::default() }).unwrap();
        assert_eq!((s.options().loss, s.options().steps, s.options().batch_size), (LossKind::Triplet, 1000, 32));
        assert!(s.revision() > revision);
    }

    #[test]
    fn a_step_uses_the_loss_margin_and_freezes_the_convolutions() {
        for (loss, margin) in [("contrastive", 1.0), ("triplet", 0.5)] {
            let mut s = taught();
            s.set_options(&OptionsUpdate { loss: Some(loss.into()), batch_size: Some(8), ..Default::default() }).unwrap();
            let before = values(&s);
            s.train_step().unwrap();
            let trainer = s.trainer.as_ref().unwrap();
            assert_eq!((trainer.config.margin, trainer.config.batch_size, trainer.config.freeze_features), (margin, 8, true), "{loss}");
            let after = values(&s);
            // Parameters in module order: conv 1 (24·25 + 24) and conv 2 (48·24·25 + 48) first.
            let conv = 24 * 25 + 24 + 48 * 24 * 25 + 48;
            assert_eq!(before[..conv], after[..conv], "{loss}: the convolutions are frozen");
            assert_ne!(before[conv..], after[conv..], "{loss}: the fully connected layers learn");
            assert_eq!(s.steps(), 1);
        }
    }

    #[test]
    fn a_fine_tune_with_nothing_to_learn_from_says_so() {
        let mut s = session();
        assert_eq!(s.train_step().unwrap_err(), "add some examples first: there is nothing to fine-tune on");
        assert_eq!(s.steps(), 0);
        assert!(!s.training, "a refused step leaves no step running");
    }

    #[test]
    fn a_diverging_step_restores_the_exact_weights() {
        let mut s = taught();
        s.train_step().unwrap();
        let before = values(&s);
        let pending = s.begin_step().unwrap();
        let err = s.finish_step(pending, Ok(vec![f32::NAN, 1.0])).unwrap_err();
        assert!(err.contains("diverged") && err.contains("lower the learning rate"), "{err}");
        let trainer = s.trainer.as_ref().unwrap().inference_model();
        assert_eq!(model_values(&trainer, s.header()), before, "the trainer's weights are the ones before the step, bit for bit");
        assert_eq!(values(&s), before, "and so are the answering model's");
        assert_eq!(s.steps(), 1);
        s.train_step().unwrap();
        assert!(values(&s).iter().all(|v| v.is_finite()), "training goes on");
    }

    #[test]
    fn a_step_in_flight_when_the_weights_change_is_discarded() {
        let mut s = taught();
        let pending = s.begin_step().unwrap();
        assert_eq!(s.begin_step().err().unwrap(), "a training step is already running");
        let values = pending.values().into_data().try_to_vec::<f32>().unwrap();
        s.reset();
        assert!(s.finish_step(pending, Ok(values)).unwrap_err().contains("was discarded"));
        assert_eq!(s.steps(), 0);
        assert!(s.train_step().is_ok(), "training goes on afterwards");
    }

    #[test]
    fn items_are_one_ordered_list() {
        let mut s = taught();
        assert!(s.add(Item::example(&flat(0.0), 12)).unwrap_err().contains("0–9"));
        assert_eq!(s.items().len(), 3);
        assert_eq!(s.remove_item(0).unwrap(), 2);
        assert!(matches!(s.items()[0], Item::Example { label: 7, .. }));
        assert!(matches!(s.items()[1], Item::Pair { same: false, .. }));
        assert_eq!(s.remove_item(5).unwrap_err(), "there is no item 5 (there are 2)");
    }

    #[test]
    fn a_session_round_trips_exactly() {
        let mut s = taught();
        s.set_options(&OptionsUpdate { loss: Some("triplet".into()), learning_rate: Some(2e-4), batch_size: Some(8), steps: Some(7) }).unwrap();
        s.train_step().unwrap();
        s.train_step().unwrap();
        s.add_reference(Reference::new("seven", vec![0.0, 0.0, 9.0, 0.0, 3.0, 12.0], vec![3])).unwrap();
        s.add_reference(Reference::new("α", vec![0.0, 0.0, 5.0, 5.0, 5.0, 0.0, 0.0, 5.0], vec![2, 4])).unwrap();
        let bytes = s.to_bytes(true).unwrap();
        let mut t = session();
        assert_eq!(t.open(&bytes).unwrap(), Opened::default());
        assert_eq!(t.gallery(), s.gallery());
        assert_eq!(t.items(), s.items());
        assert_eq!(t.options(), s.options());
        assert_eq!(t.steps(), 2);
        assert_eq!(values(&t), values(&s));
        assert_eq!(t.to_bytes(true).unwrap(), bytes);
        // An untouched session stores no weights: it is the shipped ones.
        let fresh = session().to_bytes(true).unwrap();
        assert!(fresh.len() < 100, "{} bytes", fresh.len());
        t.open(&fresh).unwrap();
        assert_eq!(values(&t), values(&session()));
        assert!(t.items().is_empty() && t.gallery().is_empty());
    }

    /// Embed the gallery's references the way the engine does, on the CPU.
    fn embed_gallery(s: &mut Session) {
        let (key, images) = s.gallery_to_embed().expect("something to embed");
        let e = s.embed(&images).into_data().try_to_vec::<f32>().unwrap();
        s.gallery_embedded(key, e);
    }

    #[test]
    fn the_gallery_matches_at_the_models_threshold_and_is_embedded_again_after_the_model_changes() {
        let mut s = taught();
        let vertical = |x: f32| (vec![x, 0.0, x, 20.0], vec![2]);
        let horizontal = (vec![0.0, 5.0, 20.0, 5.0], vec![2]);
        s.add_reference(Reference::new("bar", vertical(3.0).0, vertical(3.0).1)).unwrap();
        s.add_reference(Reference::new("dash", horizontal.0.clone(), horizontal.1.clone())).unwrap();
        let query = crate::strokes::strokes_to_mnist(&[50.0, 10.0, 52.0, 90.0], &[2]).unwrap();
        let e = s.embed(&query).into_data().try_to_vec::<f32>().unwrap();
        assert!(s.match_gallery(&e, 3).is_err(), "not embedded yet");
        embed_gallery(&mut s);
        let m = s.match_gallery(&e, 3).unwrap();
        assert_eq!(m.nearest[0].name, "bar", "{m:?}");
        assert_eq!(m.label.is_some(), m.nearest[0].distance < s.header().threshold);
        // A fine-tuning step or a model change: the cache is gone, the references stay.
        s.train_step().unwrap();
        assert!(s.gallery_to_embed().is_some(), "embedded again after a step");
        embed_gallery(&mut s);
        s.reset();
        assert!(s.gallery_to_embed().is_some(), "embedded again after a reset");
        assert_eq!(s.gallery().len(), 2);
        let revision = s.revision();
        s.remove_reference(0).unwrap();
        assert!(s.revision() > revision);
        assert_eq!(s.import_gallery(&s.export_gallery()).unwrap(), 2, "an import adds after the visitor's references");
        assert_eq!(s.gallery()[1].name, "dash");
        s.clear_gallery();
        assert!(s.gallery().is_empty());
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let file = SessionFile {
            release: "ab".into(),
            weights: None,
            steps: 3,
            options: Options { loss: LossKind::Triplet, learning_rate: 0.5, batch_size: 2, steps: 1 },
            items: vec![],
            gallery: vec![Reference::new("é", vec![1.0, 2.0, 3.0, 4.0], vec![2]).unwrap()],
        };
        let bytes = file.encode();
        let mut body = vec![2, b'a', b'b', 0, 0, 0, 0, 3, 0, 0, 0, 1];
        body.extend_from_slice(&0.5f64.to_le_bytes());
        body.extend_from_slice(&[2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        // The gallery: one reference named "é" (2 UTF-8 bytes), 2 points, 1 stroke ending at 2.
        body.extend_from_slice(&[1, 0, 0, 0, 2, 0xc3, 0xa9, 2, 0, 0, 0]);
        [1.0f32, 2.0, 3.0, 4.0].iter().for_each(|v| body.extend_from_slice(&v.to_le_bytes()));
        body.extend_from_slice(&[1, 0, 0, 0, 2, 0, 0, 0]);
        let mut expected = b"SIAMSESS\x02\0\0\0".to_vec();
        expected.extend_from_slice(&(body.len() as u32).to_le_bytes());
        expected.extend_from_slice(&body);
        let crc = crc32fast::hash(&expected);
        expected.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(bytes, expected);
        assert_eq!(SessionFile::decode(&bytes).unwrap(), file);
    }

    /// `file` written in version 1's layout: no gallery.
    fn version_1(file: &SessionFile) -> Vec<u8> {
        let v2 = SessionFile { gallery: vec![], ..file.clone() }.encode();
        let body = &v2[16..v2.len() - 8]; // without the gallery's count (0) and the CRC
        let mut out = b"SIAMSESS\x01\0\0\0".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    #[test]
    fn a_version_1_session_opens_with_an_empty_gallery() {
        let mut s = taught();
        s.train_step().unwrap();
        let file = SessionFile::decode(&s.to_bytes(true).unwrap()).unwrap();
        let old = version_1(&file);
        assert_eq!(&old[8..12], &[1, 0, 0, 0]);
        let mut t = session();
        t.add_reference(Reference::new("x", vec![0.0, 0.0, 1.0, 1.0], vec![2])).unwrap();
        t.open(&old).unwrap();
        assert_eq!(t.items(), s.items());
        assert_eq!(values(&t), values(&s));
        assert!(t.gallery().is_empty(), "version 1 had no gallery");
        assert_eq!(&t.to_bytes(true).unwrap()[8..12], &[2, 0, 0, 0], "and is saved as version 2");
    }

    #[test]
    fn every_truncation_and_bit_flip_is_refused_by_name() {
        let mut s = session();
        s.add(Item::example(&bar(6), 1)).unwrap();
        s.add_reference(Reference::new("star", vec![0.0, 0.0, 4.0, 1.0, 2.0, 5.0], vec![2, 3])).unwrap();
        s.add(Item::pair(&bar(7), &bar(19), true)).unwrap();
        let bytes = s.to_bytes(true).unwrap();
        for n in 0..bytes.len() {
            let e = SessionFile::decode(&bytes[..n]).unwrap_err();
            let expected = if n < 8 { SessionError::NotSession } else { SessionError::Truncated };
            assert_eq!(e, expected, "cut to {n} bytes");
        }
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[at] ^= 1 << bit;
                let e = SessionFile::decode(&b).unwrap_err();
                let ok = match at {
                    0..8 => e == SessionError::NotSession,
                    8..12 => matches!(e, SessionError::UnsupportedVersion(v) if v != 1 && v != VERSION),
                    12..16 => matches!(e, SessionError::Truncated | SessionError::Corrupt),
                    _ => e == SessionError::Corrupt,
                };
                assert!(ok, "bit {bit} of byte {at}: {e:?}");
            }
        }
        assert_eq!(SessionFile::decode(&[bytes.clone(), vec![0]].concat()).unwrap_err(), SessionError::Corrupt);
        assert_eq!(SessionError::Truncated.to_string(), "the session file is truncated");
        assert_eq!(SessionError::UnsupportedVersion(3).to_string(), "session version 3 is not supported (this build reads versions 1 to 2)");
    }

    /// A file with a valid checksum around `edit`ed fields.
    fn crafted(edit: impl FnOnce(&mut SessionFile)) -> Vec<u8> {
        let mut file = SessionFile::decode(&taught().to_bytes(true).unwrap()).unwrap();
        edit(&mut file);
        file.encode()
    }

    #[test]
    fn files_with_a_valid_checksum_but_bad_fields_are_refused_and_change_nothing() {
        let mut s = taught();
        let before = (s.to_bytes(true).unwrap(), s.revision());
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (crafted(|f| f.options.learning_rate = f64::INFINITY), "the session file is invalid: the learning rate must be between 0.000001 and 1, got inf"),
            (crafted(|f| f.options.batch_size = 100_000), "the session file is invalid: the batch size must be between 2 and 512, got 100000"),
            (crafted(|f| f.items[0] = Item::Example { image: flat(0.5), label: 11 }), "the session file is invalid: item 0: a label is a digit 0–9, got 11"),
            (crafted(|f| f.items[2] = Item::Pair { a: flat(f32::NAN), b: flat(0.0), same: true }), "the session file is invalid: item 2's first image: value 0 is not a finite number"),
            (crafted(|f| f.weights = Some(b"SIAMDIGW not really".to_vec())), "the session's weights are unusable: the weights file is truncated"),
            (crafted(|f| f.weights = Some(vec![7; 40])), "the session's weights are unusable: not a siamese-digits weights file"),
            (crafted(|f| f.gallery = vec![Reference { name: String::new(), xy: vec![0.0, 0.0], ends: vec![1] }]), "the session file is invalid: reference 0: name the drawing first"),
            (crafted(|f| f.gallery = vec![Reference { name: "x".into(), xy: vec![0.0, f32::NAN], ends: vec![1] }]), "the session file is invalid: reference 0: value 1 is not a finite number"),
            (crafted(|f| f.gallery = vec![Reference { name: "x".into(), xy: vec![0.0, 0.0], ends: vec![1, 1] }]), "the session file is invalid: reference 0 has more strokes than points"),
        ];
        for (bytes, message) in cases {
            let e = s.open(&bytes).unwrap_err();
            assert_eq!(e.to_string(), message);
            assert_eq!((s.to_bytes(true).unwrap(), s.revision()), before, "{message}: nothing changed");
        }
        // A kind byte, a same flag and a count that lie, with the checksum fixed up.
        let good = crafted(|_| {});
        let refix = |mut b: Vec<u8>| {
            let end = b.len() - 4;
            let crc = crc32fast::hash(&b[..end]);
            b[end..].copy_from_slice(&crc.to_le_bytes());
            b
        };
        let items_at = 16 + 1 + 8 + 4 + 4 + 1 + 8 + 4 + 4; // release "xxxxxxxx", no weights
        assert_eq!(&good[items_at..items_at + 4], &[3, 0, 0, 0], "the item count");
        let mut b = good.clone();
        b[items_at + 4] = 9;
        assert_eq!(s.open(&refix(b)).unwrap_err(), SessionError::BadContent("item 0 is of unknown kind 9".into()));
        let mut b = good.clone();
        b[items_at] = 4;
        assert_eq!(s.open(&refix(b)).unwrap_err(), SessionError::BadContent("a field runs past the end of the body".into()));
        let pair_at = items_at + 4 + 2 * (2 + 4 * IMAGE_PIXELS);
        let mut b = good.clone();
        b[pair_at + 1] = 2;
        assert_eq!(s.open(&refix(b)).unwrap_err(), SessionError::BadContent("item 2's same flag is 2, not 0 or 1".into()));
        assert_eq!(s.to_bytes(true).unwrap(), before.0);
    }

    #[test]
    fn weights_tuned_under_another_release_are_set_aside() {
        let mut s = taught();
        s.train_step().unwrap();
        let tuned = s.weights_file(true).unwrap();
        let other = crafted(|f| {
            f.release = "0badc0de".into();
            f.steps = 1;
            f.weights = Some(tuned.clone());
        });
        let mut t = session();
        let opened = t.open(&other).unwrap();
        assert_eq!(opened.set_aside, Some(SetAside { weights: tuned, release: "0badc0de".into(), steps: 1 }));
        assert_eq!(values(&t), values(&session()), "the shipped weights are in use");
        assert_eq!(t.steps(), 0);
        assert_eq!(t.items(), s.items(), "the training set is kept");
        // Untouched weights under another release: nothing to set aside.
        let plain = crafted(|f| {
            f.release = "0badc0de".into();
            f.weights = None;
        });
        assert_eq!(t.open(&plain).unwrap(), Opened::default());
    }

    #[test]
    fn a_move_to_another_device_keeps_the_synced_weights() {
        let mut s = taught();
        s.train_step().unwrap();
        let synced = s.weights_file(true).unwrap();
        assert!(!s.move_to(cpu()), "nothing was behind the file");
        assert_eq!(s.weights_file(true).unwrap(), synced);
        s.train_step().unwrap();
        assert!(s.move_to(cpu()), "a step since the last sync is lost");
        assert_eq!(s.weights_file(true).unwrap(), synced);
        assert_eq!(s.steps(), 2, "the count is the session's, not the device's");
    }

    /// The seed network's weights of this release, as the page fetches them.
    const SEED: &[u8] = include_bytes!("../weights/seed.bin");

    #[test]
    fn only_this_releases_seed_weights_are_taken() {
        let mut s = session();
        assert_eq!(s.use_network(Preset::Seed, true).unwrap_err(), "the seed network's weights have not been fetched yet");
        // A sound seed-preset file, but not this release's (fresh weights).
        let config = EncoderConfig::preset(Preset::Seed);
        let other = weights::to_bytes(&SiameseNetwork::new(&config, &cpu()), "seed", &config, 0.5, "another");
        let e = s.add_seed_weights(other).unwrap_err();
        assert!(e.starts_with("these are not the seed network's weights of this release"), "{e}");
        let mut corrupt = SEED.to_vec();
        corrupt[100] ^= 1;
        assert!(s.add_seed_weights(corrupt).is_err());
        assert!(!s.has_seed_weights());
        s.add_seed_weights(SEED.to_vec()).unwrap();
        assert!(s.has_seed_weights());
        assert_eq!(s.network(), Preset::Default, "adding the weights switches nothing");
    }

    #[test]
    fn each_network_is_kept_as_it_was_left() {
        let mut s = taught();
        s.add_seed_weights(SEED.to_vec()).unwrap();
        s.train_step().unwrap();
        let ours = s.weights_file(true).unwrap();
        s.use_network(Preset::Seed, true).unwrap();
        assert_eq!((s.network(), s.header().config.embedding, s.steps()), (Preset::Seed, 2, 0));
        assert_eq!(s.weights_file(true).unwrap(), SEED, "a network never used starts from its shipped weights");
        s.train_step().unwrap();
        s.train_step().unwrap();
        let seed_tuned = s.weights_file(true).unwrap();
        // Saved while the seed network answers, the file keeps ours.
        let mut t = session();
        t.open(&s.to_bytes(true).unwrap()).unwrap();
        assert_eq!((t.network(), t.weights_file(true).unwrap(), t.steps()), (Preset::Default, ours.clone(), 1));
        s.use_network(Preset::Default, true).unwrap();
        assert_eq!((s.weights_file(true).unwrap(), s.steps()), (ours, 1), "ours comes back fine-tuned as it was");
        s.use_network(Preset::Seed, true).unwrap();
        assert_eq!((s.weights_file(true).unwrap(), s.steps()), (seed_tuned, 2));
        s.reset();
        assert_eq!(s.weights_file(true).unwrap(), SEED, "a reset goes back to this network's shipped weights");
    }

    #[test]
    fn a_2d_embedding_is_mapped_as_it_is() {
        let mut s = session();
        s.add_seed_weights(SEED.to_vec()).unwrap();
        s.use_network(Preset::Seed, true).unwrap();
        let embeddings = vec![3.0, -1.0, 0.5, 2.0, -4.0, 0.25];
        assert_eq!(s.fit_map(embeddings.clone()), embeddings);
        assert_eq!(s.project(&[1.5, -2.0]).unwrap(), [1.5, -2.0]);
    }

    #[test]
    fn the_seed_network_can_be_a_session_too() {
        let mut s = session();
        let seed = EncoderConfig::preset(Preset::Seed);
        let bytes = weights::to_bytes(&SiameseNetwork::new(&seed, &cpu()), "seed", &seed, 0.5, "test");
        s.import_weights(bytes.clone()).unwrap();
        let mut t = session();
        t.open(&s.to_bytes(true).unwrap()).unwrap();
        assert_eq!(t.header().preset, "seed");
        assert_eq!(t.weights_file(true).unwrap(), bytes);
    }
}
