//! The background set: symbol classes besides the digits, so that distances mean
//! something for shapes the network never saw (one-shot recognition).
//!
//! Two sources, both pen strokes inked exactly the way the pads ink a drawing:
//! - **Omniglot**'s background alphabets (human drawings, 20 people per character),
//!   read from their `strokes_background_*.zip` files ([`load_omniglot`]). Two
//!   alphabets, [`HELD_OUT_ALPHABETS`], are never trained on: they measure one-shot
//!   recognition of classes the network never saw.
//! - **Made-up symbols** ([`made_up`]): a seed picks a prototype of one to three smooth
//!   strokes, and each drawing of it moves its control points a little, as another
//!   hand would. Unlimited classes, each seen only a few times.
//!
//! [`Mixture`] draws balanced pairs from the digits and both sources.

use std::fmt;
use std::io::Read;
use std::path::Path;

use crate::data::{augment_strokes, Dataset, PairBatch, Rng, Sampler};
use crate::model::IMAGE_PIXELS;
use crate::strokes::{render, Stroke, PEN};
use crate::train::Episode;

/// Omniglot alphabets kept out of training, for one-shot figures on unseen classes.
pub const HELD_OUT_ALPHABETS: [&str; 2] = ["Early_Aramaic", "Tagalog"];

/// One symbol drawn by one hand (strokes in 28×28 field units, box-normalised).
#[derive(Clone, Debug)]
pub struct Drawing {
    pub strokes: Vec<Stroke>,
    /// Who drew it (Omniglot's drawer number, 1‥20).
    pub drawer: u32,
}

/// Symbol classes, each drawn several times.
#[derive(Clone, Debug, Default)]
pub struct Symbols {
    /// `alphabet/characterNN` per class.
    pub names: Vec<String>,
    pub classes: Vec<Vec<Drawing>>,
}

impl Symbols {
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    pub fn drawings(&self) -> usize {
        self.classes.iter().map(Vec::len).sum()
    }

    /// `(trained on, held out)`: classes of [`HELD_OUT_ALPHABETS`] go to the second.
    pub fn split_held_out(self) -> (Symbols, Symbols) {
        let (mut train, mut held) = (Symbols::default(), Symbols::default());
        for (name, class) in self.names.into_iter().zip(self.classes) {
            let alphabet = name.split('/').next().unwrap_or_default();
            let part = if HELD_OUT_ALPHABETS.contains(&alphabet) { &mut held } else { &mut train };
            part.names.push(name);
            part.classes.push(class);
        }
        (train, held)
    }

    /// Every drawing inked once as the pads ink it, labelled by class, with its drawer.
    pub fn rendered(&self) -> (Vec<f32>, Vec<usize>, Vec<u32>) {
        let (mut images, mut labels, mut drawers) = (Vec::new(), Vec::new(), Vec::new());
        for (c, class) in self.classes.iter().enumerate() {
            for d in class {
                if let Ok(image) = render(&d.strokes, PEN) {
                    images.extend_from_slice(&image);
                    labels.push(c);
                    drawers.push(d.drawer);
                }
            }
        }
        (images, labels, drawers)
    }
}

/// Why the Omniglot files could not be read.
#[derive(Debug)]
pub struct OmniglotError(String);

impl fmt::Display for OmniglotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OmniglotError {}

/// Box-normalise strokes into the 28×28 field: the longer side 20 px, centred at (14, 14).
pub fn normalise(strokes: &[Stroke]) -> Vec<Stroke> {
    let points = || strokes.iter().flatten();
    let (mut lo, mut hi) = ([f32::INFINITY; 2], [f32::NEG_INFINITY; 2]);
    for p in points() {
        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
    }
    let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(1e-6);
    let (scale, mid) = (20.0 / extent, [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0]);
    strokes.iter().map(|s| s.iter().map(|p| [(p[0] - mid[0]) * scale + 14.0, (p[1] - mid[1]) * scale + 14.0]).collect()).collect()
}

/// One Omniglot strokes file: `START`, then `x,y,t` lines (y up), each stroke ended by `BREAK`.
pub fn parse_omniglot(text: &str) -> Result<Vec<Stroke>, String> {
    let mut strokes = Vec::new();
    let mut stroke = Stroke::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line {
            "START" => {}
            "BREAK" => {
                if !stroke.is_empty() {
                    strokes.push(std::mem::take(&mut stroke));
                }
            }
            _ => {
                let mut fields = line.split(',').map(|f| f.trim().parse::<f32>());
                match (fields.next(), fields.next()) {
                    (Some(Ok(x)), Some(Ok(y))) if x.is_finite() && y.is_finite() => stroke.push([x, -y]),
                    _ => return Err(format!("not an `x,y,t` line: {line:?}")),
                }
            }
        }
    }
    if !stroke.is_empty() {
        strokes.push(stroke);
    }
    if strokes.is_empty() {
        return Err("no strokes".into());
    }
    Ok(normalise(&strokes))
}

/// Every `strokes_background*.zip` in `dir`: classes keyed `alphabet/characterNN`,
/// drawings that appear in two subsets (Greek, Latin) counted once.
pub fn load_omniglot(dir: &Path) -> Result<Symbols, OmniglotError> {
    let err = |e: String| OmniglotError(e);
    let mut zips: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| err(format!("{}: {e}. Pass --omniglot DIR, the folder with Omniglot's strokes_background_*.zip", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("strokes_background") && n.ends_with(".zip")))
        .collect();
    zips.sort();
    if zips.is_empty() {
        return Err(err(format!("{} holds no strokes_background_*.zip", dir.display())));
    }
    let mut found: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Drawing>> = Default::default();
    for zip_path in zips {
        let file = std::fs::File::open(&zip_path).map_err(|e| err(format!("{}: {e}", zip_path.display())))?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| err(format!("{}: {e}", zip_path.display())))?;
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).map_err(|e| err(format!("{}: {e}", zip_path.display())))?;
            let name = entry.name().to_string();
            let parts: Vec<&str> = name.split('/').collect();
            // <set>/<Alphabet>/characterNN/<id>_<drawer>.txt; macOS metadata skipped.
            let [_, alphabet, character, file] = parts[..] else { continue };
            if name.starts_with("__MACOSX") || !file.ends_with(".txt") || file.starts_with('.') {
                continue;
            }
            let drawer = file.trim_end_matches(".txt").rsplit('_').next().and_then(|d| d.parse().ok()).unwrap_or(0);
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(|e| err(format!("{name}: {e}")))?;
            let strokes = parse_omniglot(&text).map_err(|e| err(format!("{name}: {e}")))?;
            found.entry(format!("{alphabet}/{character}")).or_default().insert(file.to_string(), Drawing { strokes, drawer });
        }
    }
    let mut symbols = Symbols::default();
    for (name, drawings) in found {
        symbols.names.push(name);
        symbols.classes.push(drawings.into_values().collect());
    }
    Ok(symbols)
}

/// Catmull-Rom spline through `points`, `per` samples per span.
fn spline(points: &[[f32; 2]], per: usize) -> Stroke {
    let at = |i: isize| points[i.clamp(0, points.len() as isize - 1) as usize];
    let mut out = Stroke::new();
    for i in 0..points.len().saturating_sub(1) as isize {
        let (p0, p1, p2, p3) = (at(i - 1), at(i), at(i + 1), at(i + 2));
        for k in 0..per {
            let t = k as f32 / per as f32;
            let (t2, t3) = (t * t, t * t * t);
            let c = |a: f32, b: f32, c: f32, d: f32| 0.5 * (2.0 * b + (c - a) * t + (2.0 * a - 5.0 * b + 4.0 * c - d) * t2 + (3.0 * b - a - 3.0 * c + d) * t3);
            out.push([c(p0[0], p1[0], p2[0], p3[0]), c(p0[1], p1[1], p2[1], p3[1])]);
        }
    }
    out.push(*points.last().unwrap_or(&[0.0, 0.0]));
    out
}

/// The control points of made-up symbol `seed`: one to three strokes of two to five
/// points each, sometimes a closed loop. The same seed always gives the same symbol.
fn prototype(seed: u64) -> Vec<Vec<[f32; 2]>> {
    let mut rng = Rng::new(seed ^ 0x5eed_5eed_5eed_5eed);
    let strokes = 1 + rng.below(3);
    (0..strokes)
        .map(|_| {
            if rng.below(5) == 0 {
                // A loop: points round an ellipse, back to the start.
                let (cx, cy, rx, ry) = (rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.35), rng.uniform(0.15, 0.35));
                let (n, start) = (4 + rng.below(3), rng.uniform(0.0, 6.28));
                (0..=n)
                    .map(|k| {
                        let a = start + k as f32 * std::f32::consts::TAU / n as f32;
                        [cx + rx * a.cos() + rng.uniform(-0.05, 0.05), cy + ry * a.sin() + rng.uniform(-0.05, 0.05)]
                    })
                    .collect()
            } else {
                (0..2 + rng.below(4)).map(|_| [rng.uniform(0.0, 1.0), rng.uniform(0.0, 1.0)]).collect()
            }
        })
        .collect()
}

/// One drawing of made-up symbol `seed`: its control points moved by up to `wobble`
/// (a fraction of the symbol's size), as another hand would draw it.
pub fn made_up(seed: u64, wobble: f32, rng: &mut Rng) -> Vec<Stroke> {
    let strokes: Vec<Stroke> = prototype(seed)
        .iter()
        .map(|points| {
            let moved: Vec<[f32; 2]> = points.iter().map(|p| [p[0] + rng.uniform(-wobble, wobble), p[1] + rng.uniform(-wobble, wobble)]).collect();
            spline(&moved, 8)
        })
        .collect();
    normalise(&strokes)
}

/// Where a drawing comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Digit(usize),
    Symbol(usize),
    MadeUp(u64),
}

/// The share of pairs drawn from each source; within a pair, "different" partners come
/// from the same source half of the time (the hard case) and from any source otherwise.
#[derive(Clone, Copy, Debug)]
pub struct Shares {
    pub digits: f32,
    pub symbols: f32,
    pub made_up: f32,
}

/// Balanced pairs from the digits, the symbol classes and made-up symbols, every
/// drawing augmented like a hand on the pads.
pub struct Mixture<'a> {
    digits: &'a Dataset,
    sampler: Sampler,
    symbols: &'a Symbols,
    shares: Shares,
    /// Where episodes draw their classes (by default, `shares`).
    episode_shares: Shares,
    rng: Rng,
}

impl<'a> Mixture<'a> {
    /// `sampler` draws the digits (with their own augmentation).
    pub fn new(digits: &'a Dataset, sampler: Sampler, symbols: &'a Symbols, shares: Shares, seed: u64) -> Self {
        let shares = Self::drawable(shares, symbols);
        Self { digits, sampler, symbols, shares, episode_shares: shares, rng: Rng::new(seed ^ 0xba5e) }
    }

    /// Episodes draw their classes by `shares` instead of the pairs' shares.
    pub fn with_episode_shares(mut self, shares: Shares) -> Self {
        self.episode_shares = Self::drawable(shares, self.symbols);
        self
    }

    /// `shares` without the symbols' when there are none to draw.
    fn drawable(shares: Shares, symbols: &Symbols) -> Shares {
        if symbols.is_empty() { Shares { symbols: 0.0, ..shares } } else { shares }
    }

    fn class_from(&mut self, source: usize) -> Class {
        match source {
            0 => Class::Digit(self.rng.below(10)),
            1 => Class::Symbol(self.rng.below(self.symbols.len())),
            _ => Class::MadeUp(self.rng.next_u64()),
        }
    }

    fn source(&mut self, shares: Shares) -> usize {
        let Shares { digits, symbols, made_up } = shares;
        let r = self.rng.uniform(0.0, digits + symbols + made_up);
        if r < digits { 0 } else if r < digits + symbols { 1 } else { 2 }
    }

    fn draw(&mut self, class: Class, out: &mut Vec<f32>) {
        let strokes = match class {
            Class::Digit(d) => return self.sampler.instance(self.digits, d, out),
            Class::Symbol(c) => self.rng.pick(&self.symbols.classes[c]).strokes.clone(),
            Class::MadeUp(seed) => made_up(seed, 0.06, &mut self.rng),
        };
        match augment_strokes(&strokes, &mut self.rng) {
            Ok(image) => out.extend_from_slice(&image),
            Err(_) => out.extend_from_slice(&[0.0; IMAGE_PIXELS]),
        }
    }

    /// An episode of `classes` distinct classes (each from a source drawn by the
    /// episode shares) with `shots` drawings each. When a source runs out of classes (there
    /// are ten digits), the class is a made-up symbol, of which there is no end.
    pub fn episode(&mut self, classes: usize, shots: usize) -> Episode {
        let mut chosen: Vec<Class> = Vec::with_capacity(classes);
        while chosen.len() < classes {
            let fresh = (0..100).map(|_| { let s = self.source(self.episode_shares); self.class_from(s) }).find(|c| !chosen.contains(c));
            chosen.push(fresh.unwrap_or_else(|| Class::MadeUp(self.rng.next_u64())));
        }
        let mut images = Vec::with_capacity(classes * shots * IMAGE_PIXELS);
        for class in chosen {
            for _ in 0..shots {
                self.draw(class, &mut images);
            }
        }
        Episode { images, classes, shots, weight: 1.0 }
    }

    /// `n` pairs, exactly half of them (rounded up) "same", interleaved.
    pub fn pairs(&mut self, n: usize) -> PairBatch {
        let mut batch = PairBatch::default();
        for k in 0..n {
            let same = k % 2 == 0;
            let source = self.source(self.shares);
            let a = self.class_from(source);
            let b = if same {
                a
            } else {
                loop {
                    let other_source = if self.rng.below(2) == 0 { source } else { self.source(self.shares) };
                    let b = self.class_from(other_source);
                    if b != a {
                        break b;
                    }
                }
            };
            self.draw(a, &mut batch.first);
            self.draw(b, &mut batch.second);
            batch.same.push(same);
        }
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omniglot_lines_become_box_normalised_strokes_with_y_down() {
        let strokes = parse_omniglot("START\n0,0,0\n10,-20,5\nBREAK\n5,-5,9\nBREAK\n").unwrap();
        // Extent 20 (y), so scale 1; the box's middle (5, 10) moves to (14, 14).
        assert_eq!(strokes, vec![vec![[9.0, 4.0], [19.0, 24.0]], vec![[14.0, 9.0]]]);
        assert!(parse_omniglot("START\nBREAK\n").is_err());
        assert_eq!(parse_omniglot("START\n1,x,0\n").unwrap_err(), "not an `x,y,t` line: \"1,x,0\"");
    }

    #[test]
    fn a_made_up_symbol_is_the_same_shape_each_time_and_another_seed_is_not() {
        let mut rng = Rng::new(1);
        let image = |seed: u64, rng: &mut Rng| render(&made_up(seed, 0.0, rng), PEN).unwrap();
        let (a, b, c) = (image(7, &mut rng), image(7, &mut rng), image(8, &mut rng));
        assert_eq!(a, b, "without wobble, one seed draws one image");
        let differ = a.iter().zip(&c).map(|(x, y)| (x - y).abs()).sum::<f32>();
        assert!(differ > 20.0, "seeds 7 and 8 drew nearly the same symbol ({differ})");
    }

    #[test]
    fn the_splines_pass_through_their_points() {
        let s = spline(&[[0.0, 0.0], [1.0, 2.0], [3.0, 1.0]], 4);
        assert_eq!(s.len(), 9);
        assert_eq!((s[0], s[4], s[8]), ([0.0, 0.0], [1.0, 2.0], [3.0, 1.0]));
    }

    #[test]
    fn an_episode_has_distinct_classes_even_past_the_ten_digits() {
        let mut digits = Dataset::default();
        for d in 0..10 {
            digits.push(&[0.5; IMAGE_PIXELS], d);
        }
        let sampler = Sampler::new(&digits, 3, false).unwrap();
        let symbols = Symbols::default();
        let only_digits = Shares { digits: 1.0, symbols: 0.0, made_up: 0.0 };
        let mut mixture = Mixture::new(&digits, sampler, &symbols, only_digits, 5);
        let episode = mixture.episode(12, 3);
        assert_eq!((episode.classes, episode.shots, episode.images.len()), (12, 3, 12 * 3 * IMAGE_PIXELS));
        // Ten digit classes, then two made-up symbols: drawn as strokes, not the flat 0.5 digit.
        let class_of = |episode: &Episode, c: usize| episode.images[c * 3 * IMAGE_PIXELS..(c + 1) * 3 * IMAGE_PIXELS].to_vec();
        assert_eq!((0..12).filter(|&c| class_of(&episode, c).iter().all(|&v| v == 0.5)).count(), 10);
        // Episodes can draw elsewhere than the pairs: here made-up symbols only.
        let only_made_up = Shares { digits: 0.0, symbols: 0.0, made_up: 1.0 };
        let mut mixture = mixture.with_episode_shares(only_made_up);
        let episode = mixture.episode(12, 3);
        assert_eq!((0..12).filter(|&c| class_of(&episode, c).iter().all(|&v| v == 0.5)).count(), 0);
        assert!(mixture.pairs(8).first.chunks(IMAGE_PIXELS).all(|image| image.iter().all(|&v| v == 0.5)), "pairs still draw digits only");
    }

    #[test]
    fn held_out_alphabets_are_split_off() {
        let drawing = || Drawing { strokes: vec![vec![[0.0, 0.0]]], drawer: 1 };
        let symbols = Symbols {
            names: vec!["Latin/character01".into(), "Tagalog/character01".into(), "Early_Aramaic/character02".into()],
            classes: vec![vec![drawing()], vec![drawing()], vec![drawing()]],
        };
        let (train, held) = symbols.split_held_out();
        assert_eq!(train.names, vec!["Latin/character01"]);
        assert_eq!(held.names, vec!["Tagalog/character01", "Early_Aramaic/character02"]);
    }
}
