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

/// The trained weights of the `default` preset, shipped with the crate.
pub const SHIPPED: &[u8] = include_bytes!("../weights/default.bin");

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
    let u32_at = |at: usize| -> Result<usize, WeightsError> {
        bytes.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize).ok_or(WeightsError::Truncated)
    };
    let header_len = u32_at(8)?;
    let count_at = 12usize.checked_add(header_len).ok_or(WeightsError::Truncated)?;
    let count = u32_at(count_at)?;
    let end = count.checked_mul(4).and_then(|b| b.checked_add(count_at + 4)).ok_or(WeightsError::Truncated)?;
    if bytes.len() < end + 4 {
        return Err(WeightsError::Truncated);
    }
    if bytes.len() > end + 4 || crc32fast::hash(&bytes[..end]) != u32_at(end)? as u32 {
        return Err(WeightsError::Corrupt);
    }
    let header: Header = serde_json::from_slice(&bytes[12..count_at]).map_err(|e| WeightsError::BadHeader(e.to_string()))?;
    if header.version != VERSION {
        return Err(WeightsError::UnsupportedVersion(header.version));
    }
    let values: Vec<f32> = bytes[count_at + 4..end].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
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
        let n: usize = shape.iter().product();
        let Some(slice) = self.values.get(self.offset..self.offset + n) else {
            self.error = Some("the file holds fewer values than its shapes need".into());
            return param;
        };
        self.offset += n;
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
    use crate::model::{Preset, IMAGE_PIXELS};

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
    fn wrong_architecture_is_named() {
        let (_, seed_bytes) = sample(Preset::Seed);
        let e = from_bytes_expecting(&seed_bytes, &EncoderConfig::preset(Preset::Default), &cpu()).err().unwrap();
        assert_eq!(e.to_string(), "the weights do not fit the architecture: the file holds a `seed` network (2-D embedding), not the expected architecture");
    }

    #[test]
    fn shipped_weights_load_into_the_current_architecture() {
        let (_, header) = from_bytes_expecting(SHIPPED, &EncoderConfig::preset(Preset::Default), &cpu()).unwrap();
        assert_eq!(header.preset, "default");
        assert!(header.threshold > 0.0 && header.threshold < 2.0);
    }
}
