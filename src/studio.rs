//! The fine-tuning studio's data: the user's labelled digits and marked pairs, the
//! batches that mix them with a replay sample of MNIST digits, and the pairs the
//! "your examples" score is computed on. Plain Rust: the browser's engine holds one,
//! and `cargo test` checks it.

use crate::data::{Dataset, PairBatch, Rng, Sampler};
use crate::model::IMAGE_PIXELS;
use crate::train::{Batch, LossKind};

/// What the user taught so far, and the replay digits mixed into every batch so the
/// model keeps the rest of MNIST.
pub struct Studio {
    examples: Dataset,
    pairs: Vec<(Vec<f32>, Vec<f32>, bool)>,
    replay: Dataset,
    rng: Rng,
}

/// The user's data as one embedding batch and the pairs to score on it.
pub struct UserPairs {
    /// Every image to embed, `n × 784` flattened: the labelled digits, then both
    /// sides of each marked pair.
    pub images: Vec<f32>,
    /// `(i, j, same)` over rows of the embedded `images`.
    pub pairs: Vec<(usize, usize, bool)>,
}

impl Studio {
    /// An empty studio whose batches replay digits of `replay`, drawn with `seed`.
    pub fn new(replay: Dataset, seed: u64) -> Self {
        Self { examples: Dataset::default(), pairs: Vec::new(), replay, rng: Rng::new(seed) }
    }

    /// Add a labelled digit; returns how many there are.
    pub fn add_example(&mut self, image: &[f32], label: u8) -> Result<usize, String> {
        check_image(image, "example")?;
        if label > 9 {
            return Err(format!("a label is a digit 0–9, got {label}"));
        }
        self.examples.push(image, label);
        Ok(self.examples.len())
    }

    /// Add a pair marked same / different; returns how many pairs there are.
    pub fn add_pair(&mut self, a: &[f32], b: &[f32], same: bool) -> Result<usize, String> {
        check_image(a, "first image")?;
        check_image(b, "second image")?;
        self.pairs.push((a.to_vec(), b.to_vec(), same));
        Ok(self.pairs.len())
    }

    /// Remove labelled digit `index`.
    pub fn remove_example(&mut self, index: usize) -> Result<(), String> {
        if index >= self.examples.len() {
            return Err(format!("there is no example {index} (there are {})", self.examples.len()));
        }
        self.examples.images.drain(index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS);
        self.examples.labels.remove(index);
        Ok(())
    }

    /// Remove marked pair `index`.
    pub fn remove_pair(&mut self, index: usize) -> Result<(), String> {
        if index >= self.pairs.len() {
            return Err(format!("there is no pair {index} (there are {})", self.pairs.len()));
        }
        self.pairs.remove(index);
        Ok(())
    }

    /// Forget every example and pair.
    pub fn clear(&mut self) {
        self.examples = Dataset::default();
        self.pairs.clear();
    }

    pub fn example_count(&self) -> usize {
        self.examples.len()
    }

    pub fn pair_count(&self) -> usize {
        self.pairs.len()
    }

    /// One fine-tuning batch of `batch_size`: half from the user (their marked pairs
    /// and balanced pairs of their labelled digits, or triplets of those digits),
    /// half from the replay sample. Everything but the marked pairs is augmented.
    pub fn batch(&mut self, loss: LossKind, batch_size: usize) -> Result<Batch, String> {
        if self.examples.is_empty() && self.pairs.is_empty() {
            return Err("add some examples first: there is nothing to fine-tune on".into());
        }
        let seed = self.rng.next_u64();
        let user = batch_size / 2;
        let mut replay = Sampler::new(&self.replay, seed, true).map_err(|e| e.to_string())?;
        match loss {
            LossKind::Contrastive => {
                let own_pairs = match (self.pairs.is_empty(), self.examples.is_empty()) {
                    (true, _) => 0,
                    (false, true) => user,
                    (false, false) => user / 2,
                };
                let mut batch = if own_pairs < user {
                    Sampler::new(&self.examples, seed ^ 1, true).map_err(|e| e.to_string())?.pairs(&self.examples, user - own_pairs)
                } else {
                    PairBatch::default()
                };
                for _ in 0..own_pairs {
                    let (a, b, same) = &self.pairs[self.rng.below(self.pairs.len())];
                    batch.first.extend_from_slice(a);
                    batch.second.extend_from_slice(b);
                    batch.same.push(*same);
                }
                let rest = replay.pairs(&self.replay, batch_size - user);
                batch.first.extend(rest.first);
                batch.second.extend(rest.second);
                batch.same.extend(rest.same);
                Ok(Batch::Pairs(batch))
            }
            LossKind::Triplet => {
                if self.examples.is_empty() {
                    return Err("the triplet loss needs labelled digits, not only pairs".into());
                }
                let mut sampler = Sampler::new(&self.examples, seed ^ 1, true).map_err(|e| e.to_string())?;
                let mut batch = sampler.triplets(&self.examples, user);
                let rest = replay.triplets(&self.replay, batch_size - user);
                batch.anchor.extend(rest.anchor);
                batch.positive.extend(rest.positive);
                batch.negative.extend(rest.negative);
                batch.anchor_labels.extend(rest.anchor_labels);
                batch.negative_labels.extend(rest.negative_labels);
                Ok(Batch::Triplets(batch))
            }
        }
    }

    /// Every pair of labelled digits (same when the labels agree) and every marked
    /// pair, over one batch of images. `None` when there is no pair yet.
    pub fn user_pairs(&self) -> Option<UserPairs> {
        let n = self.examples.len();
        let mut images = self.examples.images.clone();
        let mut pairs = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                pairs.push((i, j, self.examples.labels[i] == self.examples.labels[j]));
            }
        }
        for (k, (a, b, same)) in self.pairs.iter().enumerate() {
            images.extend_from_slice(a);
            images.extend_from_slice(b);
            pairs.push((n + 2 * k, n + 2 * k + 1, *same));
        }
        (!pairs.is_empty()).then_some(UserPairs { images, pairs })
    }
}

/// A 784-value image: the right length, every value finite.
pub fn check_image(values: &[f32], what: &str) -> Result<(), String> {
    if values.len() != IMAGE_PIXELS {
        return Err(format!(
            "{what}: expected {IMAGE_PIXELS} values (a {side}×{side} image), got {}",
            values.len(),
            side = crate::model::IMAGE_SIDE
        ));
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!("{what}: value {i} is not a finite number"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An image whose every pixel is `v` (tells images apart after batching).
    fn flat(v: f32) -> Vec<f32> {
        vec![v; IMAGE_PIXELS]
    }

    fn replay() -> Dataset {
        let mut set = Dataset::default();
        for d in 0..10u8 {
            set.push(&flat(0.5), d);
        }
        set
    }

    #[test]
    fn bad_input_is_refused_with_its_reason() {
        let mut s = Studio::new(replay(), 0);
        assert!(s.add_example(&[0.0; 10], 1).unwrap_err().contains("expected 784 values"));
        let mut nan = flat(0.0);
        nan[3] = f32::NAN;
        assert_eq!(s.add_pair(&flat(0.0), &nan, true).unwrap_err(), "second image: value 3 is not a finite number");
        assert!(s.add_example(&flat(0.0), 10).unwrap_err().contains("0–9"));
        assert_eq!(s.remove_example(0).unwrap_err(), "there is no example 0 (there are 0)");
        assert!(s.batch(LossKind::Contrastive, 32).unwrap_err().contains("nothing to fine-tune"));
        assert_eq!(s.example_count() + s.pair_count(), 0);
    }

    #[test]
    fn removing_an_example_keeps_the_others_in_order() {
        let mut s = Studio::new(replay(), 0);
        for (v, label) in [(0.1, 1), (0.2, 2), (0.3, 3)] {
            s.add_example(&flat(v), label).unwrap();
        }
        s.remove_example(1).unwrap();
        assert_eq!(s.examples.labels, vec![1, 3]);
        assert_eq!(s.examples.image(1)[0], 0.3);
    }

    #[test]
    fn a_batch_is_half_user_half_replay() {
        let mut s = Studio::new(replay(), 0);
        s.add_example(&flat(0.9), 1).unwrap();
        s.add_example(&flat(0.9), 7).unwrap();
        s.add_pair(&flat(1.0), &flat(1.0), false).unwrap();
        let Ok(Batch::Pairs(b)) = s.batch(LossKind::Contrastive, 32) else { panic!("expected pairs") };
        assert_eq!(b.same.len(), 32);
        // 16 user pairs: 8 marked (the pair is "different") + 8 balanced example pairs.
        let marked = b.first.chunks(IMAGE_PIXELS).filter(|img| img.iter().all(|&v| v == 1.0)).count();
        assert_eq!(marked, 8);
        assert_eq!(b.same[..8].iter().filter(|&&x| x).count(), 4, "balanced example pairs: {:?}", &b.same[..8]);
        assert!(!b.same[8..16].iter().any(|&x| x), "the marked pair is 'different'");
        assert_eq!(b.same[16..].iter().filter(|&&x| x).count(), 8, "balanced replay pairs");
    }

    #[test]
    fn only_marked_pairs_fill_the_user_half() {
        let mut s = Studio::new(replay(), 0);
        s.add_pair(&flat(1.0), &flat(1.0), true).unwrap();
        let Ok(Batch::Pairs(b)) = s.batch(LossKind::Contrastive, 8) else { panic!("expected pairs") };
        assert_eq!(b.same[..4], [true; 4]);
        assert!(s.batch(LossKind::Triplet, 8).unwrap_err().contains("labelled digits"));
    }

    #[test]
    fn triplets_need_two_digits() {
        let mut s = Studio::new(replay(), 0);
        s.add_example(&flat(0.9), 4).unwrap();
        assert!(s.batch(LossKind::Triplet, 8).unwrap_err().contains("at least two different digits"));
        s.add_example(&flat(0.8), 9).unwrap();
        let Ok(Batch::Triplets(t)) = s.batch(LossKind::Triplet, 8) else { panic!("expected triplets") };
        assert_eq!(t.anchor_labels.len(), 8);
        assert!(t.anchor_labels.iter().zip(&t.negative_labels).all(|(a, n)| a != n));
    }

    #[test]
    fn user_pairs_cover_every_example_pair_and_each_marked_pair() {
        let mut s = Studio::new(replay(), 0);
        assert!(s.user_pairs().is_none());
        s.add_example(&flat(0.1), 1).unwrap();
        assert!(s.user_pairs().is_none(), "one example makes no pair");
        s.add_example(&flat(0.2), 1).unwrap();
        s.add_example(&flat(0.3), 2).unwrap();
        s.add_pair(&flat(0.4), &flat(0.5), false).unwrap();
        let u = s.user_pairs().unwrap();
        assert_eq!(u.images.len(), 5 * IMAGE_PIXELS);
        assert_eq!(u.pairs, vec![(0, 1, true), (0, 2, false), (1, 2, false), (3, 4, false)]);
        assert_eq!(u.images[4 * IMAGE_PIXELS], 0.5);
    }
}
