//! The weights file: architecture, calibrated threshold and every parameter, in one
//! self-describing, checksummed byte string.
//!
//! Layout (little-endian): `b"SIAMDIGW"`, header length `u32`, JSON header
//! ([`Header`]), parameter count `u32`, the `f32` parameters in module order,
//! CRC-32 `u32` of everything before it. Loading only creates tensors from host
//! data, and saving reads all parameters back in one (optionally async) read, so
//! both work on WebGPU.

use std::fmt;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, ExecutionError, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::model::{EncoderConfig, SiameseNetwork};

const MAGIC: &[u8; 8] = b"SIAMDIGW";
const VERSION: u32 = 1;

/// The trained weights of the `default` preset, as committed: an ordinary weights file
/// whose values are rounded to half precision (see [`round_to_half`]).
const SHIPPED_FILE: &[u8] = include_bytes!("../weights/default.bin");

/// The same file as the crate stores it: its values split into byte planes (every
/// value's lowest byte, then every second byte, …). Half-precision values leave the
/// low planes almost constant, so a compressed download of the wasm is ~150 KB
/// smaller than with the file's own layout. [`shipped`] puts the file back together.
#[allow(long_running_const_eval)]
static SHIPPED_PLANES: [u8; SHIPPED_FILE.len()] = to_planes(SHIPPED_FILE);

/// The trained weights of the `default` preset, shipped with the crate: a weights file.
pub fn shipped() -> Vec<u8> {
    from_planes(&SHIPPED_PLANES)
}

/// Which shipped weights this build carries: their checksum, 8 hex digits. Saved
/// sessions and models remember it, so a new release can be told apart.
pub fn release() -> String {
    checksum(&shipped())
}

/// A weights file's checksum as [`release`] writes it: the CRC-32 of everything
/// before the file's own CRC trailer. (Of the whole file it would be the same for
/// every file: a CRC over data and its own CRC is a constant, 2144df1c, which is
/// what every release was called until 2026-11-30.)
pub fn checksum(bytes: &[u8]) -> String {
    format!("{:08x}", crc32fast::hash(&bytes[..bytes.len().saturating_sub(4)]))
}

/// The checksum of the `seed` network's weights of this release (`weights/seed.bin`,
/// fetched by the page only when that network is chosen, so not in the crate).
pub const SEED_RELEASE: &str = "5f156e91";

/// Where a weights file's values start and how many there are (what the header
/// lengths say; `(0, 0)` for anything too short to hold them).
const fn value_range(file: &[u8]) -> (usize, usize) {
    if file.len() < 16 {
        return (0, 0);
    }
    let start = 16 + u32::from_le_bytes([file[8], file[9], file[10], file[11]]) as usize;
    if start + 4 > file.len() {
        return (0, 0);
    }
    (start, (file.len() - 4 - start) / 4)
}

/// `file` with its values in byte planes (everything else as it is).
const fn to_planes<const N: usize>(file: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = file[i];
        i += 1;
    }
    let (start, n) = value_range(file);
    let mut v = 0;
    while v < n {
        let mut b = 0;
        while b < 4 {
            out[start + b * n + v] = file[start + 4 * v + b];
            b += 1;
        }
        v += 1;
    }
    out
}

/// The inverse of [`to_planes`].
fn from_planes(planes: &[u8]) -> Vec<u8> {
    let mut out = planes.to_vec();
    let (start, n) = value_range(planes);
    for v in 0..n {
        for b in 0..4 {
            out[start + 4 * v + b] = planes[start + b * n + v];
        }
    }
    out
}

/// `model` with every parameter rounded to the nearest half-precision value: how the
/// shipped weights are stored (MNIST test accuracy is the same to 0.001 %, and the
/// wasm download is smaller; see [`SHIPPED_PLANES`]).
pub fn round_to_half(model: SiameseNetwork) -> SiameseNetwork {
    struct Round;
    impl ModuleMapper for Round {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|t| {
                let (shape, device) = (t.shape(), t.device());
                let values: Vec<f32> = t.into_data().iter::<f32>().map(|v| half::f16::from_f32(v).to_f32()).collect();
                Tensor::from_data(TensorData::new(values, shape), &device)
            })
        }
    }
    model.map(&mut Round)
}

/// What a weights file says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub version: u32,
    /// Preset name, or `custom`.
    pub preset: String,
    pub config: EncoderConfig,
    /// Distances below this mean "same digit" (calibrated on validation pairs).
    pub threshold: f32,
    /// Shape of every parameter, in module order.
    pub shapes: Vec<Vec<usize>>,
    /// How the weights were made (free text).
    #[serde(default)]
    pub note: String,
}

/// Why bytes are not usable weights.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightsError {
    NotWeights,
    UnsupportedVersion(u32),
    Truncated,
    Corrupt,
    BadHeader(String),
    /// The file's parameters do not fit the architecture it (or the caller) names.
    Mismatch(String),
    Read(String),
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotWeights => write!(f, "not a siamese-digits weights file"),
            Self::UnsupportedVersion(v) => write!(f, "weights file version {v} is not supported (this build reads version {VERSION})"),
            Self::Truncated => write!(f, "the weights file is truncated"),
            Self::Corrupt => write!(f, "the weights file is corrupt (checksum mismatch)"),
            Self::BadHeader(e) => write!(f, "the weights file's header is invalid: {e}"),
            Self::Mismatch(e) => write!(f, "the weights do not fit the architecture: {e}"),
            Self::Read(e) => write!(f, "could not read the weights from the device: {e}"),
        }
    }
}

impl std::error::Error for WeightsError {}

/// Every parameter flattened, with its shape.
#[derive(Default)]
struct Collect {
    tensors: Vec<Tensor<1>>,
    shapes: Vec<Vec<usize>>,
}

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val();
        let shape = value.dims().to_vec();
        self.tensors.push(value.reshape([shape.iter().product::<usize>()]));
        self.shapes.push(shape);
    }
}

fn collect(model: &SiameseNetwork) -> (Tensor<1>, Vec<Vec<usize>>) {
    let mut c = Collect::default();
    model.valid().visit(&mut c);
    (Tensor::cat(c.tensors, 0), c.shapes)
}

fn encode(header: &Header, values: &[f32]) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("a header serialises");
    let mut out = Vec::with_capacity(24 + json.len() + values.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    values.iter().for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn header_for(preset: &str, config: &EncoderConfig, threshold: f32, note: &str, shapes: Vec<Vec<usize>>) -> Header {
    Header { version: VERSION, preset: preset.into(), config: config.clone(), threshold, shapes, note: note.into() }
}

/// Serialise `model` (synchronous read: CPU backends).
pub fn to_bytes(model: &SiameseNetwork, preset: &str, config: &EncoderConfig, threshold: f32, note: &str) -> Vec<u8> {
    let (flat, shapes) = collect(model);
    let values = flat.into_data().try_to_vec::<f32>().expect("f32 parameters");
    encode(&header_for(preset, config, threshold, note, shapes), &values)
}

/// Serialise `model` with one asynchronous read (any backend, WebGPU included).
pub async fn to_bytes_async(model: &SiameseNetwork, preset: &str, config: &EncoderConfig, threshold: f32, note: &str) -> Result<Vec<u8>, WeightsError> {
    let (flat, shapes) = collect(model);
    let data = flat.into_data_async().await.map_err(|e: ExecutionError| WeightsError::Read(format!("{e:?}")))?;
    let values = data.try_to_vec::<f32>().map_err(|e| WeightsError::Read(format!("{e:?}")))?;
    Ok(encode(&header_for(preset, config, threshold, note, shapes), &values))
}

/// Check and decode a weights file's header and values.
pub fn decode(bytes: &[u8]) -> Result<(Header, Vec<f32>), WeightsError> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(WeightsError::NotWeights);
    }
    // Every offset below is a sum of numbers the file gives: each is checked, as a
    // wrapped one (wasm32's usize has 32 bits) would point at the wrong bytes.
    let after = |at: usize, n: usize| at.checked_add(n).ok_or(WeightsError::Truncated);
    let u32_at = |at: usize| -> Result<usize, WeightsError> {
        let b = bytes.get(at..after(at, 4)?).ok_or(WeightsError::Truncated)?;
        Ok(u32::from_le_bytes(b.try_into().unwrap()) as usize)
    };
    let count_at = after(12, u32_at(8)?)?;
    let count = u32_at(count_at)?;
    let values_at = after(count_at, 4)?;
    let end = after(values_at, count.checked_mul(4).ok_or(WeightsError::Truncated)?)?;
    let file_len = after(end, 4)?;
    if bytes.len() < file_len {
        return Err(WeightsError::Truncated);
    }
    if bytes.len() > file_len || crc32fast::hash(&bytes[..end]) != u32_at(end)? as u32 {
        return Err(WeightsError::Corrupt);
    }
    let header: Header = serde_json::from_slice(&bytes[12..count_at]).map_err(|e| WeightsError::BadHeader(e.to_string()))?;
    if header.version != VERSION {
        return Err(WeightsError::UnsupportedVersion(header.version));
    }
    header.config.check().map_err(|e| WeightsError::BadHeader(format!("its architecture cannot be built: {e}")))?;
    let values: Vec<f32> = bytes[values_at..end].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(WeightsError::BadHeader(format!("parameter value {i} is not finite")));
    }
    if !header.threshold.is_finite() || header.threshold <= 0.0 {
        return Err(WeightsError::BadHeader(format!("threshold {} is not a positive number", header.threshold)));
    }
    Ok((header, values))
}

/// Replaces each parameter with the next slice of the file, checking shapes.
struct Load<'a> {
    values: &'a [f32],
    shapes: std::slice::Iter<'a, Vec<usize>>,
    offset: usize,
    error: Option<String>,
}

impl ModuleMapper for Load<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        let expected = param.lazy_shape().dims::<D>().to_vec();
        let Some(shape) = self.shapes.next() else {
            self.error = Some("the file has fewer parameters than the model".into());
            return param;
        };
        if *shape != expected {
            self.error = Some(format!("a parameter is {shape:?} in the file but {expected:?} in the model"));
            return param;
        }
        // The shape equals the model's, whose size the architecture check bounds; the
        // arithmetic is checked all the same, as the numbers come from the file.
        let end = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).and_then(|n| self.offset.checked_add(n));
        let Some(slice) = end.and_then(|end| self.values.get(self.offset..end)) else {
            self.error = Some("the file holds fewer values than its shapes need".into());
            return param;
        };
        self.offset += slice.len();
        let data = TensorData::new(slice.to_vec(), shape.clone());
        param.map(|old| {
            let device = old.device();
            let require_grad = old.is_require_grad();
            Tensor::<D>::from_data(data, &device).set_require_grad(require_grad)
        })
    }
}

/// Build the network the file describes, on `device`.
pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<(SiameseNetwork, Header), WeightsError> {
    let (header, values) = decode(bytes)?;
    build(header, &values, device)
}

/// Like [`from_bytes`], but the file must hold the architecture `expected`.
pub fn from_bytes_expecting(bytes: &[u8], expected: &EncoderConfig, device: &Device) -> Result<(SiameseNetwork, Header), WeightsError> {
    let (header, values) = decode(bytes)?;
    if header.config != *expected {
        return Err(WeightsError::Mismatch(format!(
            "the file holds a `{}` network ({}-D embedding), not the expected architecture",
            header.preset, header.config.embedding
        )));
    }
    build(header, &values, device)
}

fn build(header: Header, values: &[f32], device: &Device) -> Result<(SiameseNetwork, Header), WeightsError> {
    let model = SiameseNetwork::new(&header.config, device);
    let mut load = Load { values, shapes: header.shapes.iter(), offset: 0, error: None };
    let model = model.map(&mut load);
    if let Some(e) = load.error {
        return Err(WeightsError::Mismatch(e));
    }
    if load.shapes.next().is_some() || load.offset != values.len() {
        return Err(WeightsError::Mismatch("the file has more parameters than the model".into()));
    }
    Ok((model, header))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::model::{ConvStage, Preset, IMAGE_PIXELS};

    fn embed(model: &SiameseNetwork) -> Vec<f32> {
        let image: Vec<f32> = (0..IMAGE_PIXELS).map(|i| (i % 7) as f32 / 7.0).collect();
        crate::metrics::embed_all(model, &image, &cpu())
    }

    fn sample(preset: Preset) -> (SiameseNetwork, Vec<u8>) {
        let config = EncoderConfig::preset(preset);
        let model = SiameseNetwork::new(&config, &cpu());
        let bytes = to_bytes(&model, preset.name(), &config, 0.7, "test");
        (model, bytes)
    }

    #[test]
    fn checksums_tell_weights_files_apart() {
        let (_, a) = sample(Preset::Default);
        let (_, b) = sample(Preset::Seed);
        assert_ne!(checksum(&a), checksum(&b));
        // The CRC of a whole file (its trailer included) is the same for every file.
        assert_eq!(format!("{:08x}", crc32fast::hash(&a)), format!("{:08x}", crc32fast::hash(&b)));
        assert_eq!(checksum(&a), format!("{:08x}", u32::from_le_bytes(a[a.len() - 4..].try_into().unwrap())), "the file's own CRC");
        assert_ne!(release(), "2144df1c");
    }

    #[test]
    fn round_trip_is_exact() {
        for preset in [Preset::Default, Preset::Seed] {
            let (model, bytes) = sample(preset);
            let (loaded, header) = from_bytes(&bytes, &cpu()).unwrap();
            assert_eq!(header.threshold, 0.7);
            assert_eq!(header.config, EncoderConfig::preset(preset));
            assert_eq!(embed(&model), embed(&loaded));
            assert_eq!(to_bytes(&loaded, preset.name(), &header.config, 0.7, "test"), bytes);
        }
    }

    #[test]
    fn damaged_files_are_rejected_clearly() {
        let (_, bytes) = sample(Preset::Default);
        let err = |b: &[u8]| from_bytes(b, &cpu()).err().unwrap();
        assert_eq!(err(b"hello world"), WeightsError::NotWeights);
        assert_eq!(err(&bytes[..bytes.len() - 100]), WeightsError::Truncated);
        assert_eq!(err(&bytes[..10]), WeightsError::Truncated);
        let mut flipped = bytes.clone();
        flipped[bytes.len() / 2] ^= 0x40;
        assert_eq!(err(&flipped), WeightsError::Corrupt);
        assert_eq!(err(&[bytes.clone(), vec![0]].concat()), WeightsError::Corrupt);
        assert_eq!(err(&flipped).to_string(), "the weights file is corrupt (checksum mismatch)");
    }

    #[test]
    fn a_header_that_lies_about_shapes_is_a_mismatch() {
        let (model, _) = sample(Preset::Default);
        let (flat, mut shapes) = collect(&model);
        let values = flat.into_data().try_to_vec::<f32>().unwrap();
        shapes[0] = vec![shapes[0].iter().product()];
        let header = Header { version: VERSION, preset: "default".into(), config: EncoderConfig::preset(Preset::Default), threshold: 0.5, shapes, note: String::new() };
        let e = from_bytes(&encode(&header, &values), &cpu()).err().unwrap();
        assert!(matches!(e, WeightsError::Mismatch(_)), "{e}");
    }

    #[test]
    fn a_header_whose_sizes_wrap_on_32_bits_is_refused() {
        // One 1-channel stage with a 65,536-px kernel padded by 65,535 px (its conv side
        // 65,563 px, pooled to 1), then a 2-D embedding. In 32 bits the kernel's
        // 65,536² = 2³² weights wrap to 0, so these shapes need 0 + 1 + 2 + 2 values:
        // the 5 the file holds.
        let stage = ConvStage { channels: 1, kernel: 65_536, stride: 1, padding: 65_535, lrn: None, pool: 65_563, pool_stride: 1 };
        let config = EncoderConfig::new(vec![stage], vec![], 2);
        let shapes: Vec<Vec<usize>> = vec![vec![1, 1, 65_536, 65_536], vec![1], vec![1, 2], vec![2]];
        let wrapped: u32 = shapes.iter().map(|s| s.iter().fold(1u32, |n, &d| n.wrapping_mul(d as u32))).sum();
        assert_eq!(wrapped, 5);
        let file = encode(&header_for("custom", &config, 0.5, "", shapes), &[0.25; 5]);
        assert_eq!(
            from_bytes(&file, &cpu()).err(),
            Some(WeightsError::BadHeader("its architecture cannot be built: stage 1 brings the parameters to 4294967297 (at most 4000000)".into()))
        );
        assert_eq!(config.check_within(u32::MAX as u64), Err("stage 1's sizes overflow (1×1×65536×65536 weights and 1 biases exceed 4294967295)".into()));
    }

    #[test]
    fn wrong_architecture_is_named() {
        let (_, seed_bytes) = sample(Preset::Seed);
        let e = from_bytes_expecting(&seed_bytes, &EncoderConfig::preset(Preset::Default), &cpu()).err().unwrap();
        assert_eq!(e.to_string(), "the weights do not fit the architecture: the file holds a `seed` network (2-D embedding), not the expected architecture");
    }

    #[test]
    fn the_stored_planes_give_back_the_shipped_file() {
        assert_eq!(shipped(), SHIPPED_FILE);
        assert_ne!(&SHIPPED_PLANES[..], SHIPPED_FILE, "the values are stored in planes");
        // A hand-made file: header "{}", values 1.0 and -2.0.
        let mut file = b"SIAMDIGW\x02\0\0\0{}\x02\0\0\0".to_vec();
        file.extend_from_slice(&[0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
        file.extend_from_slice(&[9, 9, 9, 9]);
        let planes: [u8; 30] = to_planes(&file);
        assert_eq!(&planes[18..26], &[0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x3f, 0xc0]);
        assert_eq!(from_planes(&planes), file);
        assert_eq!(from_planes(b"short"), b"short", "too short to hold values: unchanged");
    }

    #[test]
    fn shipped_values_are_half_precision_and_rounding_is_to_nearest() {
        let (_, values) = decode(&shipped()).unwrap();
        assert!(values.iter().all(|&v| half::f16::from_f32(v).to_f32() == v));
        let device = cpu();
        let (model, _) = from_bytes(&shipped(), &device).unwrap();
        let (flat, _) = collect(&model);
        let twice = round_to_half(model);
        let (again, _) = collect(&twice);
        assert_eq!(flat.into_data().try_to_vec::<f32>().unwrap(), again.into_data().try_to_vec::<f32>().unwrap(), "rounding is idempotent");
        // Half precision keeps 10 mantissa bits: near 1 its step is 2^-10. 1 + 2^-11 lies
        // halfway and rounds to even (1.0); 1 + 3·2^-11 rounds up to 1 + 2^-9.
        let config = EncoderConfig::preset(Preset::Default);
        let (_, shapes) = collect(&SiameseNetwork::new(&config, &device));
        let header = header_for("default", &config, 0.5, "", shapes);
        for (v, expected) in [(1.0 + 2f32.powi(-11), 1.0), (1.0 + 3.0 * 2f32.powi(-11), 1.0 + 2f32.powi(-9))] {
            let params = SiameseNetwork::new(&config, &device).num_params();
            let (model, _) = from_bytes(&encode(&header, &vec![v; params]), &device).unwrap();
            let rounded = round_to_half(model);
            let (flat, _) = collect(&rounded);
            assert!(flat.into_data().iter::<f32>().all(|x| x == expected), "{v} → {expected}");
        }
    }

    #[test]
    fn shipped_weights_load_into_the_current_architecture() {
        let (_, header) = from_bytes_expecting(&shipped(), &EncoderConfig::preset(Preset::Default), &cpu()).unwrap();
        assert_eq!(header.preset, "default");
        assert!(header.threshold > 0.0 && header.threshold < 2.0);
    }
}
