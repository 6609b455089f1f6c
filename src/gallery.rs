//! One-shot recognition: the visitor's named references, kept as pen strokes, and the
//! live match of a drawing against them.
//!
//! References are strokes, not images or embeddings: a new model (fine-tuned,
//! restored, a new release) re-embeds them instead of losing them. Their embeddings
//! are a cache, valid for one model and one list of references ([`Gallery::key`]).
//! A drawing's match is the nearest name, a name standing at the mean of its
//! references' embeddings (which beat their nearest: see the README's one-shot
//! figures), and no name at all — "none of these" — when even the nearest is not
//! within the model's threshold.
//!
//! A gallery file is JSON: `{"kind": "siamese-digits gallery", "version": 1,
//! "references": [{"name": "α", "xy": [x0, y0, x1, y1, …], "ends": [3, 7, …]}]}`,
//! `xy`/`ends` as [`crate::strokes::from_flat`] reads them.

use serde::{Deserialize, Serialize};

use crate::distance::euclidean_host;
use crate::model::IMAGE_PIXELS;
use crate::strokes;

/// Most references a gallery holds (matching 100 stays live; 500 still does on the CPU).
pub const MAX_REFERENCES: usize = 500;
/// Most characters in a reference's name.
pub const MAX_NAME: usize = 40;
/// Most points one reference's strokes may hold (a signature needs a few hundred).
pub const MAX_POINTS: usize = 4_000;
/// Largest gallery file read, in bytes.
pub const MAX_FILE: usize = 8 << 20;
/// The `kind` a gallery file declares.
pub const FILE_KIND: &str = "siamese-digits gallery";

/// A named drawing, as the pad recorded it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub name: String,
    pub xy: Vec<f32>,
    pub ends: Vec<u32>,
}

impl Reference {
    /// A checked reference: a name of 1 to [`MAX_NAME`] characters (trimmed, no control
    /// characters), strokes that ink something and hold at most [`MAX_POINTS`] points.
    pub fn new(name: &str, xy: Vec<f32>, ends: Vec<u32>) -> Result<Self, String> {
        let name = name.trim();
        if name.is_empty() {
            return Err("name the drawing first".into());
        }
        if name.chars().count() > MAX_NAME {
            return Err(format!("a name has at most {MAX_NAME} characters, \"{name}\" has {}", name.chars().count()));
        }
        if name.chars().any(char::is_control) {
            return Err("a name may not hold control characters".into());
        }
        if xy.len() / 2 > MAX_POINTS {
            return Err(format!("a reference holds at most {MAX_POINTS} points, this drawing has {}", xy.len() / 2));
        }
        strokes::strokes_to_mnist(&xy, &ends).map_err(|e| match e {
            crate::preprocess::PreprocessError::NoInk => "the pad is empty: draw something to add".to_string(),
            e => e.to_string(),
        })?;
        Ok(Self { name: name.to_string(), xy, ends })
    }

    /// The 28×28 image the network sees of it.
    pub fn image(&self) -> [f32; IMAGE_PIXELS] {
        strokes::strokes_to_mnist(&self.xy, &self.ends).expect("checked when made")
    }
}

/// One name's distance to a drawing (to the mean of its references' embeddings).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Candidate {
    pub name: String,
    pub distance: f32,
}

/// A drawing against the gallery.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Match {
    /// The nearest name if it is within the threshold; `None`: "none of these".
    pub label: Option<String>,
    /// The nearest names, nearest first, each at the distance of its references' mean.
    pub nearest: Vec<Candidate>,
}

/// The file's shape.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    kind: String,
    version: u32,
    references: Vec<Reference>,
}

/// The visitor's references and their embeddings' cache.
#[derive(Clone, Debug, Default)]
pub struct Gallery {
    references: Vec<Reference>,
    /// Bumped with every change to the references or the model.
    key: u64,
    /// Embeddings (`n × dim`) computed for `key`.
    cache: Option<(u64, Vec<f32>)>,
}

impl Gallery {
    pub fn references(&self) -> &[Reference] {
        &self.references
    }

    /// Which state of references and model an embedding computed now belongs to.
    pub fn key(&self) -> u64 {
        self.key
    }

    fn changed(&mut self) {
        self.key += 1;
        self.cache = None;
    }

    /// The model changed: every reference is embedded again before the next match.
    pub fn forget_embeddings(&mut self) {
        self.changed();
    }

    /// Add a reference; returns how many there are.
    pub fn add(&mut self, reference: Reference) -> Result<usize, String> {
        if self.references.len() >= MAX_REFERENCES {
            return Err(format!("the gallery holds at most {MAX_REFERENCES} references; remove some first"));
        }
        self.references.push(reference);
        self.changed();
        Ok(self.references.len())
    }

    pub fn remove(&mut self, index: usize) -> Result<usize, String> {
        if index >= self.references.len() {
            return Err(format!("there is no reference {index} (the gallery holds {})", self.references.len()));
        }
        self.references.remove(index);
        self.changed();
        Ok(self.references.len())
    }

    pub fn clear(&mut self) {
        self.references.clear();
        self.changed();
    }

    /// Replace every reference (checked already).
    pub fn replace(&mut self, references: Vec<Reference>) {
        self.references = references;
        self.changed();
    }

    /// The images to embed for the current key, if the cache is not current.
    pub fn to_embed(&self) -> Option<(u64, Vec<f32>)> {
        if self.references.is_empty() || self.cache.as_ref().is_some_and(|(k, _)| *k == self.key) {
            return None;
        }
        Some((self.key, self.references.iter().flat_map(|r| r.image()).collect()))
    }

    /// Embeddings computed for `key`; ignored if the gallery or model changed meanwhile.
    pub fn embedded(&mut self, key: u64, embeddings: Vec<f32>) {
        if key == self.key && embeddings.len().is_multiple_of(self.references.len().max(1)) {
            self.cache = Some((key, embeddings));
        }
    }

    /// The `k` nearest names to `embedding`, and the label if the nearest is within
    /// `threshold`. Needs the cache current ([`Gallery::to_embed`] → [`Gallery::embedded`]).
    pub fn matches(&self, embedding: &[f32], k: usize, threshold: f32) -> Result<Match, String> {
        if let Some(i) = embedding.iter().position(|v| !v.is_finite()) {
            return Err(format!("value {i} of the embedding is not a finite number"));
        }
        if self.references.is_empty() {
            return Ok(Match { label: None, nearest: Vec::new() });
        }
        let Some((_, cache)) = self.cache.as_ref().filter(|(key, _)| *key == self.key) else {
            return Err("the gallery's references are not embedded for this model yet".into());
        };
        let dim = cache.len() / self.references.len();
        if embedding.len() != dim {
            return Err(format!("expected an embedding of {dim} values, got {}", embedding.len()));
        }
        // Each name's references averaged into one point (README: their mean beat their
        // nearest in 20-way 3-shot trials on unseen symbols).
        let mut names: Vec<(&str, Vec<f32>, usize)> = Vec::new();
        for (reference, e) in self.references.iter().zip(cache.chunks_exact(dim)) {
            let at = match names.iter().position(|(n, _, _)| *n == reference.name) {
                Some(at) => at,
                None => {
                    names.push((&reference.name, vec![0.0; dim], 0));
                    names.len() - 1
                }
            };
            let (_, sum, count) = &mut names[at];
            sum.iter_mut().zip(e).for_each(|(s, v)| *s += v);
            *count += 1;
        }
        let mut best: Vec<Candidate> = names
            .into_iter()
            .map(|(name, sum, count)| {
                let mean: Vec<f32> = sum.iter().map(|s| s / count as f32).collect();
                Candidate { name: name.to_string(), distance: euclidean_host(embedding, &mean) }
            })
            .collect();
        best.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        best.truncate(k.max(1));
        let label = best.first().filter(|c| c.distance < threshold).map(|c| c.name.clone());
        Ok(Match { label, nearest: best })
    }

    /// The gallery as a file (see the module docs).
    pub fn to_json(&self) -> String {
        let file = File { kind: FILE_KIND.into(), version: 1, references: self.references.clone() };
        serde_json::to_string(&file).expect("references serialise")
    }

    /// Read a gallery file; every reference is checked, and a bad one refuses the file.
    pub fn parse(text: &str) -> Result<Vec<Reference>, String> {
        if text.len() > MAX_FILE {
            return Err(format!("a gallery file is at most {} MB; this one is {:.1} MB", MAX_FILE >> 20, text.len() as f64 / (1 << 20) as f64));
        }
        let file: File = serde_json::from_str(text).map_err(|e| format!("not a gallery file: {e}"))?;
        if file.kind != FILE_KIND {
            return Err(format!("not a gallery file: its kind is \"{}\", not \"{FILE_KIND}\"", file.kind));
        }
        if file.version != 1 {
            return Err(format!("gallery version {} is not supported (this build reads version 1)", file.version));
        }
        if file.references.len() > MAX_REFERENCES {
            return Err(format!("the file holds {} references; a gallery holds at most {MAX_REFERENCES}", file.references.len()));
        }
        file.references
            .into_iter()
            .enumerate()
            .map(|(i, r)| Reference::new(&r.name, r.xy, r.ends).map_err(|e| format!("reference {} (\"{}\"): {e}", i + 1, r.name)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(x: f32) -> Reference {
        Reference::new("l", vec![x, 0.0, x + 10.0, 10.0], vec![2]).unwrap()
    }

    fn named(name: &str) -> Reference {
        Reference { name: name.into(), ..line(0.0) }
    }

    /// A gallery of names `a`, `b`, `a` whose embeddings are 1-D points 0, 1, 3.
    fn embedded() -> Gallery {
        let mut g = Gallery::default();
        for n in ["a", "b", "a"] {
            g.add(named(n)).unwrap();
        }
        let (key, images) = g.to_embed().unwrap();
        assert_eq!(images.len(), 3 * IMAGE_PIXELS);
        g.embedded(key, vec![0.0, 1.0, 3.0]);
        g
    }

    #[test]
    fn the_mean_of_each_names_references_decides_and_the_threshold_names_it() {
        let g = embedded();
        // a's references at 0 and 3 stand at their mean, 1.5; b at 1. At 1.9: a is 0.4
        // away, b 0.9 (though b's one reference is nearer than a's nearest, 3, at 1.1).
        let m = g.matches(&[1.9], 3, 0.5).unwrap();
        assert_eq!(m.label.as_deref(), Some("a"));
        let got: Vec<(String, f32)> = m.nearest.iter().map(|c| (c.name.clone(), c.distance)).collect();
        assert_eq!(got.len(), 2, "one candidate per name");
        assert_eq!(got[0].0, "a");
        assert!((got[0].1 - 0.4).abs() < 1e-5 && (got[1].1 - 0.9).abs() < 1e-5, "{got:?}");
        // At 5.0: a is 3.5 away, beyond the threshold of 0.5: "none of these", and the
        // nearest still named.
        let none = g.matches(&[5.0], 3, 0.5).unwrap();
        assert_eq!(none.label, None);
        assert_eq!(none.nearest[0].name, "a");
        assert!((none.nearest[0].distance - 3.5).abs() < 1e-6);
        assert_eq!(g.matches(&[0.9], 1, 0.5).unwrap().nearest.len(), 1);
    }

    #[test]
    fn a_change_invalidates_the_embeddings_and_a_late_result_is_dropped() {
        let mut g = embedded();
        assert!(g.to_embed().is_none(), "current");
        let stale_key = g.key();
        g.forget_embeddings();
        assert_eq!(g.matches(&[0.0], 3, 1.0).unwrap_err(), "the gallery's references are not embedded for this model yet");
        g.embedded(stale_key, vec![0.0, 1.0, 3.0]);
        assert!(g.to_embed().is_some(), "an embedding of the old model is not taken");
        g.remove(1).unwrap();
        let (key, images) = g.to_embed().unwrap();
        assert_eq!(images.len(), 2 * IMAGE_PIXELS);
        g.embedded(key, vec![0.0, 3.0]);
        assert_eq!(g.matches(&[2.9], 3, 1.0).unwrap().nearest.len(), 1, "only a is left");
        g.clear();
        assert_eq!(g.matches(&[2.9], 3, 1.0).unwrap(), Match { label: None, nearest: vec![] });
        assert!(g.matches(&[f32::NAN], 3, 1.0).is_err());
    }

    #[test]
    fn references_are_checked() {
        let ok = |name: &str| Reference::new(name, vec![0.0, 0.0, 5.0, 5.0], vec![2]);
        assert_eq!(ok("  star ").unwrap().name, "star");
        assert_eq!(ok(" ").unwrap_err(), "name the drawing first");
        assert!(ok(&"x".repeat(MAX_NAME)).is_ok());
        assert_eq!(ok(&"é".repeat(MAX_NAME + 1)).unwrap_err(), format!("a name has at most 40 characters, \"{}\" has 41", "é".repeat(41)));
        assert!(ok("a\u{7}").is_err());
        assert_eq!(Reference::new("x", vec![], vec![]).unwrap_err(), "the pad is empty: draw something to add");
        assert!(Reference::new("x", vec![0.0, f32::NAN], vec![1]).is_err());
        let many = vec![1.0; 2 * (MAX_POINTS + 1)];
        assert_eq!(Reference::new("x", many, vec![MAX_POINTS as u32 + 1]).unwrap_err(), "a reference holds at most 4000 points, this drawing has 4001");
        let mut g = Gallery::default();
        for _ in 0..MAX_REFERENCES {
            g.add(line(1.0)).unwrap();
        }
        assert_eq!(g.add(line(1.0)).unwrap_err(), "the gallery holds at most 500 references; remove some first");
        assert!(g.remove(MAX_REFERENCES).is_err());
    }

    #[test]
    fn a_file_round_trips_and_bad_files_are_refused_by_name() {
        let mut g = Gallery::default();
        g.add(Reference::new("α", vec![0.0, 0.0, 3.0, 4.0, 9.0, 9.0], vec![2, 3]).unwrap()).unwrap();
        g.add(line(2.0)).unwrap();
        let text = g.to_json();
        assert_eq!(Gallery::parse(&text).unwrap(), g.references());
        assert!(text.starts_with(r#"{"kind":"siamese-digits gallery","version":1,"references":[{"name":"α","xy":[0.0,0.0,3.0,4.0,9.0,9.0],"ends":[2,3]}"#), "{text}");
        let refused = |t: &str| Gallery::parse(t).unwrap_err();
        assert!(refused("{").starts_with("not a gallery file: "));
        assert_eq!(refused(r#"{"kind":"x","version":1,"references":[]}"#), "not a gallery file: its kind is \"x\", not \"siamese-digits gallery\"");
        assert_eq!(refused(r#"{"kind":"siamese-digits gallery","version":2,"references":[]}"#), "gallery version 2 is not supported (this build reads version 1)");
        assert_eq!(
            refused(r#"{"kind":"siamese-digits gallery","version":1,"references":[{"name":"ok","xy":[0,0,1,1],"ends":[2]},{"name":"bad","xy":[0,0,1,1],"ends":[3]}]}"#),
            "reference 2 (\"bad\"): the strokes are invalid: the stroke ends [3] do not end at the 2 points given"
        );
        assert!(refused(r#"{"kind":"siamese-digits gallery","version":1,"references":[],"extra":1}"#).contains("unknown field"));
        assert!(refused(&" ".repeat(MAX_FILE + 1)).starts_with("a gallery file is at most 8 MB"));
    }
}
